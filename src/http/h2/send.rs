//! A response body's way to an HTTP/2 client: DATA frames sent only as the
//! client's flow-control window allows, and the stream as a relay's sink
//! (its reset is the client's departure).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;

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
