//! A response body's way to an HTTP/2 client: DATA frames sent only as the
//! client's flow-control window allows, and the stream as a relay's sink
//! (its reset is the client's departure). An HTTP/2 upstream's body skips
//! the relay's HTTP/1.1 framing and buffer: its DATA frames go on as they
//! came ([`relay_frames`]).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::SendStream;

use crate::net::h2_body::H2Body;

use crate::http::body::{RelayError, Sink};
use crate::runtime::io::{self as rio, IoFail};

/// Sends `data` as DATA frames as the client's window allows (`end`: the
/// last one ends the stream).
pub(super) async fn send_all(
    send: &mut SendStream<Bytes>,
    mut data: Bytes,
    end: bool,
) -> io::Result<()> {
    let h2err = io::Error::other;
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let mut cap = send.capacity();
        while cap == 0 {
            cap = match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(n)) => n,
                Some(Err(e)) => return Err(h2err(e)),
                None => return Err(io::ErrorKind::BrokenPipe.into()),
            };
        }
        let chunk = data.split_to(cap.min(data.len()));
        send.send_data(chunk, end && data.is_empty())
            .map_err(h2err)?;
    }
    Ok(())
}

/// The client's stream as the destination of a response body.
pub(super) struct H2Sink<'a>(pub(super) RefCell<&'a mut SendStream<Bytes>>);

impl Sink for H2Sink<'_> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        let data = Bytes::copy_from_slice(&buf[..len]);
        // No borrow guard across the wait: `get_mut` needs none.
        let send = self.0.get_mut();
        match rio::until(deadline, send_all(send, data, false)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(RelayError::Write(IoFail::Io(e))),
            Err(e) => Err(RelayError::Write(e)),
        }
    }

    fn watch(&self) -> impl Future<Output = ()> {
        // Only polled while the relay waits on the upstream, never during a write.
        poll_fn(|cx| self.0.borrow_mut().poll_reset(cx).map(|_| ()))
    }
}

/// Passes an HTTP/2 upstream's body on frame by frame: each DATA payload
/// (a `Bytes`, not copied) is sent as the client's window allows, and only
/// then is the upstream's window released for it, so what waits here is
/// bounded by the two windows. `limit`: the declared length, past which
/// nothing is sent (as the HTTP/1.1 relay stops there). Each read waits at
/// most `read_timeout`, each write `write_timeout`; the client's reset
/// while the upstream is silent stops it. Returns the bytes sent.
pub(super) async fn relay_frames(
    body: &mut H2Body,
    send: &mut SendStream<Bytes>,
    limit: Option<u64>,
    (read_timeout, write_timeout): (Option<Duration>, Duration),
) -> Result<u64, RelayError> {
    let mut sent = 0u64;
    while limit.is_none_or(|n| sent < n) {
        let deadline = read_timeout.map(|t| Instant::now() + t);
        let next = rio::until(deadline, body.next_data());
        let got = rio::watched(next, || poll_fn(|cx| send.poll_reset(cx).map(|_| ()))).await;
        let mut data = match got {
            None => return Err(RelayError::Stopped),
            Some(Err(e)) => return Err(RelayError::Read(e)),
            Some(Ok(Err(e))) => return Err(RelayError::Read(IoFail::Io(e))),
            Some(Ok(Ok(None))) => break,
            Some(Ok(Ok(Some(data)))) => data,
        };
        let n = data.len();
        if let Some(left) = limit.map(|l| l - sent) {
            data.truncate(usize::try_from(left).unwrap_or(usize::MAX));
        }
        let len = data.len() as u64;
        let deadline = Some(Instant::now() + write_timeout);
        match rio::until(deadline, send_all(send, data, false)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(RelayError::Write(IoFail::Io(e))),
            Err(e) => return Err(RelayError::Write(e)),
        }
        body.release(n);
        sent += len;
    }
    Ok(sent)
}
