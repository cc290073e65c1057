//! An HTTP/2 client's request body to an HTTP/2 upstream, relayed beside the
//! response rather than before it: gRPC's bidirectional streams (and any
//! server that answers while the body still comes) need both directions at
//! once. DATA frames go on as they come, each released to the client only
//! once the upstream's window took it (so memory stays bounded by the two
//! windows), and the client's trailers end the upstream stream.

use std::future::{Future, poll_fn};
use std::os::fd::RawFd;
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;
use h2::client::ResponseFuture;

use super::super::{Judge, Leg};
use super::{Failed, request, respond, stream_error};
use crate::http::codec::RequestHead;
use crate::http::downstream::{Downstream, StreamBody};
use crate::http::error::ProxyError;
use crate::http::server::Outcome;
use crate::net::h2_body::h2_io_error;
use crate::runtime::io as rio;

/// Runs the body's relay and the response's together. A failure of the
/// body (the client reset its stream, a limit) ends both; a response that
/// ends first leaves the rest of the body unsent (the stream is reset).
#[allow(clippy::too_many_arguments)]
pub(super) async fn run<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    leg: Leg<'_>,
    fd: RawFd,
    response: ResponseFuture,
    mut send: SendStream<Bytes>,
    body: StreamBody,
    answered: &mut bool,
) -> Result<Outcome, Failed> {
    let mut sent = 0u64;
    let result = {
        let mut pump = pin!(pump(body, &mut send, leg, &mut sent));
        let mut pumping = true;
        let mut respond = pin!(respond(d, head, leg, fd, response, answered, &Judge::NEVER));
        poll_fn(|cx| {
            if pumping && let Poll::Ready(r) = pump.as_mut().poll(cx) {
                pumping = false;
                if let Err(e) = r {
                    return Poll::Ready(Err(Failed::Stream(e)));
                }
            }
            respond.as_mut().poll(cx)
        })
        .await
    };
    d.record().req_bytes += sent;
    result
}

/// Moves DATA frames from the client's stream to the upstream's, then the
/// trailers (or the end of the stream).
async fn pump(
    mut body: StreamBody,
    send: &mut SendStream<Bytes>,
    leg: Leg<'_>,
    sent: &mut u64,
) -> Result<(), ProxyError> {
    loop {
        let deadline = body.read_timeout.map(|t| Instant::now() + t);
        let next = rio::until(deadline, poll_fn(|cx| body.recv.poll_data(cx))).await;
        let data = match next {
            Err(_) => return Err(ProxyError::RequestTimeout),
            Ok(None) => break,
            // The client reset its stream, or its connection ended.
            Ok(Some(Err(_))) => return Err(ProxyError::ClientClosed),
            Ok(Some(Ok(data))) => data,
        };
        let n = data.len();
        if body.max_bytes.is_some_and(|max| *sent + n as u64 > max) {
            return Err(ProxyError::BodyTooLarge);
        }
        match rio::until(leg.write_deadline(), request::send_data(send, data)).await {
            Err(_) => return Err(ProxyError::UpstreamWriteTimeout(leg.addr)),
            Ok(Err(e)) => return Err(stream_error(e)),
            Ok(Ok(())) => {}
        }
        // Only now may the client send more.
        let _ = body.recv.flow_control().release_capacity(n);
        *sent += n as u64;
    }
    let trailers = poll_fn(|cx| body.recv.poll_trailers(cx)).await;
    let trailers = trailers.map_err(|_| ProxyError::ClientClosed)?;
    match trailers {
        Some(t) => send.send_trailers(t),
        None => send.send_data(Bytes::new(), true),
    }
    .map_err(|e| ProxyError::UpstreamIo(h2_io_error(e)))
}
