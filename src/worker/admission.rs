//! Whether a new connection may be served, and what it holds while it is: its place
//! in the worker's open-connection count and, on an entry point with
//! `maxConnections`, in that entry point's process-wide count. A connection over
//! the limit is refused at once: a static 503 on a plaintext HTTP entry point, a
//! plain close otherwise (a TLS or TCP client could not read an HTTP answer).
//!
//! Each close also wakes the worker's accept loops that are backing off after the
//! process ran out of descriptors: a close is what frees one, so accepting resumes
//! at once instead of at the end of the back-off.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use monoio::net::TcpStream;

use crate::worker::{EntryCtx, WorkerCtx};

/// What a refused client on a plaintext HTTP entry point reads before the close.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
content-length: 31\r\n\
connection: close\r\n\
\r\n\
too many connections, try again";

/// A connection's admission: counted in the worker's `open_connections` (a graceful
/// stop waits for 0) and, with a limit, in its entry point's count, until dropped.
pub struct OpenGuard {
    w: Rc<WorkerCtx>,
    /// Set when the connection holds a place in this entry point's `Limit`.
    limited: Option<Rc<EntryCtx>>,
}

impl OpenGuard {
    /// Admits a new connection on `ep`, or `None` when `maxConnections` is reached.
    pub fn admit(w: &Rc<WorkerCtx>, ep: &Rc<EntryCtx>) -> Option<OpenGuard> {
        let limited = match &ep.limit {
            Some(limit) if !limit.acquire() => return None,
            Some(_) => Some(ep.clone()),
            None => None,
        };
        w.open_connections.set(w.open_connections.get() + 1);
        Some(OpenGuard {
            w: w.clone(),
            limited,
        })
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        let open = &self.w.open_connections;
        open.set(open.get() - 1);
        if let Some(limit) = self.limited.as_ref().and_then(|ep| ep.limit.as_ref()) {
            limit.release();
        }
        self.w.trimmer.released();
        self.w.closes.notify();
    }
}

/// Refuses a connection over the limit without a task: the answer (if any) is one
/// non-blocking send into the fresh socket's empty buffer, then the socket closes.
pub fn refuse(io: TcpStream, http: bool) {
    // SAFETY: a just-accepted stream has no operation in flight, so `into_raw_fd`
    // hands over the only reference to an open descriptor, which `OwnedFd` then owns.
    let fd = unsafe { OwnedFd::from_raw_fd(io.into_raw_fd()) };
    if http {
        let socket = socket2::Socket::from(fd);
        // Best effort: a client that already left gets nothing, which is fine.
        let _ = socket.send_with_flags(REFUSED, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL);
    }
}

/// Wakes tasks waiting for "some connection of this worker closed". Waiters are
/// deduplicated by waker, so a back-off that times out leaves at most one stale
/// entry per accept task, cleared at the next close.
#[derive(Default)]
pub struct Closes {
    count: Cell<u64>,
    waiters: RefCell<Vec<Waker>>,
}

impl Closes {
    /// One check of an empty list on the common path (nobody backing off).
    pub fn notify(&self) {
        self.count.set(self.count.get().wrapping_add(1));
        if self.waiters.borrow().is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }

    /// Resolves at the next close after this call.
    pub fn next(&self) -> NextClose<'_> {
        NextClose {
            closes: self,
            seen: self.count.get(),
        }
    }
}

pub struct NextClose<'a> {
    closes: &'a Closes,
    seen: u64,
}

impl Future for NextClose<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.closes.count.get() != self.seen {
            return Poll::Ready(());
        }
        let mut waiters = self.closes.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Counts a client connection as open on its entry point for as long as it lives.
pub struct ConnGuard {
    w: Rc<WorkerCtx>,
    ep: usize,
}

impl ConnGuard {
    pub fn new(w: &Rc<WorkerCtx>, ep: usize) -> ConnGuard {
        if let Some(n) = w.obs.metrics.borrow_mut().open.get_mut(ep) {
            *n += 1;
        }
        ConnGuard { w: w.clone(), ep }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some(n) = self.w.obs.metrics.borrow_mut().open.get_mut(self.ep) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_response_has_the_right_length() {
        let text = std::str::from_utf8(REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len = format!("content-length: {}\r\n", body.len());
        assert!(head.contains(len.trim_end()), "{head}");
        assert!(head.starts_with("HTTP/1.1 503 ") && head.contains("connection: close"));
    }
}
