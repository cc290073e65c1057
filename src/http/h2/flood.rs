//! The guard against PING and SETTINGS floods, which the h2 crate does not
//! bound: each such frame owes an answer (PING ACK, SETTINGS ACK), so a
//! client can keep a worker busy answering them forever; the crate only stops
//! reading while an answer waits to be written. The guard sits on the read
//! side of the connection's byte stream ([`Guarded`]), follows the frame
//! headers going by (it never looks at payloads) and counts PING and SETTINGS
//! frames that are not ACKs. Past [`DEFAULT_MAX_CONTROL_FRAMES`] within
//! [`CONTROL_WINDOW`] it trips: reading stops, and the connection driver
//! (`h2::serve`) ends the connection with GOAWAY ENHANCE_YOUR_CALM.

use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// PING and SETTINGS frames (not ACKs) a client may send within
/// [`CONTROL_WINDOW`]. A browser or gRPC client sends a few per minute; Go's
/// server bounds the answers it queues to 10,000 instead, which the h2 crate
/// gives no hook for, so proxyd counts arrivals.
pub const DEFAULT_MAX_CONTROL_FRAMES: u32 = 1000;
/// The period over which control frames are counted.
pub const CONTROL_WINDOW: Duration = Duration::from_secs(10);

const HEAD_LEN: usize = 9;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const ACK: u8 = 0x1;

/// Set once when the guard trips; the connection driver waits on it.
#[derive(Default)]
pub(super) struct Tripwire {
    tripped: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Tripwire {
    fn trip(&self) {
        self.tripped.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Resolves once the guard tripped.
    pub fn tripped(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.tripped.get() {
                return Poll::Ready(());
            }
            self.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        })
    }
}

/// Where the scan is in the client's byte stream.
struct Scan {
    /// Bytes still to pass before the next frame header (the connection
    /// preface first, then each frame's payload).
    skip: usize,
    head: [u8; HEAD_LEN],
    have: usize,
    count: u32,
    since: Instant,
}

impl Scan {
    fn new() -> Scan {
        Scan {
            skip: super::PREFACE.len(),
            head: [0; HEAD_LEN],
            have: 0,
            count: 0,
            since: Instant::now(),
        }
    }

    /// Follows `bytes`; true when the budget is spent.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (HEAD_LEN - self.have).min(bytes.len());
            self.head[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have < HEAD_LEN {
                break;
            }
            self.have = 0;
            let h = &self.head;
            self.skip = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
            if matches!(h[3], PING | SETTINGS) && h[4] & ACK == 0 && self.count_one() {
                return true;
            }
        }
        false
    }

    fn count_one(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.since) > CONTROL_WINDOW {
            (self.since, self.count) = (now, 0);
        }
        self.count += 1;
        self.count > DEFAULT_MAX_CONTROL_FRAMES
    }
}

/// A connection's byte stream with the guard on its read side.
pub struct Guarded<T> {
    io: T,
    scan: Scan,
    wire: Rc<Tripwire>,
}

impl<T> Guarded<T> {
    pub(super) fn new(io: T, wire: Rc<Tripwire>) -> Guarded<T> {
        Guarded {
            io,
            scan: Scan::new(),
            wire,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.wire.tripped.get() {
            // Nothing more is read: the driver is sending GOAWAY and closing.
            return Poll::Pending;
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.scan.feed(&buf.filled()[before..]) {
            this.wire.trip();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, len: usize) -> Vec<u8> {
        let mut f = vec![0, (len >> 8) as u8, len as u8, kind, flags, 0, 0, 0, 0];
        f.resize(HEAD_LEN + len, 0);
        f
    }

    #[test]
    fn counts_pings_and_settings_but_not_acks_or_payloads() {
        let mut scan = Scan::new();
        assert!(!scan.feed(super::super::PREFACE));
        // A DATA payload that looks like PING headers is not counted.
        let mut data = frame(0, 0, 9 * 3);
        data[HEAD_LEN..].copy_from_slice(&frame(PING, 0, 0).repeat(3));
        let mut bytes = data;
        bytes.extend(frame(PING, ACK, 8));
        bytes.extend(frame(SETTINGS, ACK, 0));
        for _ in 0..DEFAULT_MAX_CONTROL_FRAMES / 2 {
            bytes.extend(frame(PING, 0, 8));
            bytes.extend(frame(SETTINGS, 0, 6));
        }
        // Fed in odd pieces, as reads come.
        for piece in bytes.chunks(7) {
            assert!(!scan.feed(piece));
        }
        assert_eq!(scan.count, DEFAULT_MAX_CONTROL_FRAMES);
        assert!(scan.feed(&frame(PING, 0, 8)));
    }
}
