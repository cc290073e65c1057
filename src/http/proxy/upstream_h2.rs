//! Forwarding one request over HTTP/2: to `h2c://` servers (prior
//! knowledge), and to `https://` servers whose TLS handshake agreed `h2`
//! (ALPN offers it unless the transport sets `disableHTTP2`). Streams share
//! this worker's connections to the server (`pool`).
//!
//! It keeps the HTTP/1.1 path's shape, so the client side is the same
//! `Downstream` whatever the client spoke: the upstream request head is
//! written as HTTP/1.1 by the downstream (every rewrite and edit included)
//! and becomes the stream's HEADERS (`request`); the body streams as DATA;
//! the response head is written back as HTTP/1.1 and parsed by the usual
//! codec, and its body is read as HTTP/1.1 body bytes (`net::h2_body`,
//! chunked with the trailers when no length was given), which the
//! downstream relays as it relays any upstream's. The trailers also reach an
//! HTTP/2 client as trailers.
//!
//! Dropping the exchange (a client that left, an error) drops the stream's
//! handles, and the `h2` crate resets the stream with CANCEL. Mirrors' copies
//! to `h2c://` servers share the same connections (`copy`).

use std::os::fd::RawFd;
use std::time::Instant;

use bytes::Bytes;
use h2::client::ResponseFuture;
use http::response::Parts;

use super::{Judge, Leg};
use crate::config::Server;
use crate::http::codec::{BodyKind, ChunkError, RequestHead};
use crate::http::downstream::{Downstream, Source, Written};
use crate::http::error::{self, Attempt, ProxyError, Retry};
use crate::http::server::{Outcome, ReqState};
use crate::middleware::grpc_web::Mode;
use crate::net::h2_body::{H2Body, h2_io_error};
use crate::net::upstream::{MAX_RESPONSE_HEAD, PoolKey, UpstreamConn};
use crate::net::upstream_tls::TlsTarget;
use crate::runtime::io::{self as rio, IoFail};

pub(super) mod copy;
mod duplex;
mod pool;
mod request;

use pool::Dialed;
pub use pool::Slot;

/// How the exchange goes on.
pub(super) enum Via {
    /// It ran over HTTP/2.
    H2(Result<Outcome, ProxyError>),
    /// Over HTTP/1.1, on this connection first when there is one (an
    /// `https://` server that chose HTTP/1.1, or one of its idle connections).
    H1(Option<UpstreamConn>),
}

/// A stream's place on this thread's HTTP/2 connection to `key`: a pooled
/// one with room, else a new one dialed with `t`'s timeouts (`tls` must
/// offer `h2`). For requests made beside the proxy path (the prober's gRPC
/// health checks, on its own thread and so its own pool); a server that
/// chose HTTP/1.1 in ALPN is an error.
pub async fn stream_slot(
    key: PoolKey,
    t: &crate::config::ServersTransport,
    tls: Option<&TlsTarget>,
) -> Result<Slot, crate::net::upstream::DialError> {
    if let Some(slot) = pool::get(key, t.max_idle_conns_per_host) {
        return Ok(slot);
    }
    match pool::dial(key, t, tls).await? {
        Dialed::H2(slot) => Ok(slot),
        Dialed::H1(_) => Err(crate::net::upstream::DialError::Failed(
            std::io::Error::other("the server chose HTTP/1.1 in ALPN, not h2"),
        )),
    }
}

/// Whether to try HTTP/2 with this server.
pub(super) fn wanted(server: &Server) -> bool {
    server.h2c || server.tls.as_deref().is_some_and(offers_h2)
}

fn offers_h2(t: &TlsTarget) -> bool {
    t.config.alpn_protocols.iter().any(|p| p == b"h2")
}

/// Most connections a request tries when the ones it picks turn out unable
/// to open a stream (they received GOAWAY or broke while idle).
const MAX_PICKS: usize = 3;

pub(super) async fn exchange<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    (server, judge): (&Server, &Judge),
    leg: Leg<'_>,
    key: PoolKey,
    written: Written,
    at: &mut Attempt,
) -> Via {
    // An idle HTTP/1.1 connection to an `https://` server means it chose
    // HTTP/1.1 when it was dialed: use it rather than dial again.
    if !server.h2c
        && let Some(up) = d.pool().checkout(key)
    {
        return Via::H1(Some(up));
    }
    let mut retried = false;
    let mut picks = 0;
    loop {
        let slot = match pool::get(key, leg.t.max_idle_conns_per_host) {
            Some(slot) => slot,
            None => match pool::dial(key, leg.t, server.tls.as_deref()).await {
                Ok(Dialed::H2(slot)) => slot,
                Ok(Dialed::H1(up)) => return Via::H1(Some(up)),
                Err(e) => return Via::H2(Err(e.into())),
            },
        };
        picks += 1;
        let mut answered = false;
        let e = match attempt(d, head, server, leg, &slot, &mut answered, judge).await {
            Ok(outcome) => return Via::H2(Ok(outcome)),
            Err(Failed::NoStream(e)) if picks < MAX_PICKS => {
                // Nothing was sent on it: another connection takes the request.
                log::debug!("{}: no stream on an HTTP/2 connection: {e}", server.url);
                slot.kill();
                continue;
            }
            Err(Failed::NoStream(e)) => e,
            Err(Failed::Stream(e)) => e,
        };
        *at = Attempt {
            reused: slot.reused,
            answered,
            replayable: written.replayable || d.body_state() == ReqState::Untouched,
            retried,
            more: at.more,
            replay: false,
        };
        if error::retry(&e, at) != Retry::FreshConnection {
            return Via::H2(Err(e));
        }
        log::debug!("{}: {e}: retrying on another connection", server.url);
        if !matches!(e, ProxyError::UpstreamRefused(_)) {
            slot.kill();
        }
        retried = true;
        d.record().retries += 1;
    }
}

pub(super) enum Failed {
    /// The connection could not open a stream: nothing was sent.
    NoStream(ProxyError),
    Stream(ProxyError),
}

async fn attempt<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    server: &Server,
    leg: Leg<'_>,
    slot: &Slot,
    answered: &mut bool,
    judge: &Judge,
) -> Result<Outcome, Failed> {
    let scheme = if server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let (mut req, body_at, chunked) = request::build(d.out(), scheme).map_err(Failed::Stream)?;
    let web = d.grpc_web();
    if web.is_some() {
        // As the gRPC-Web wrapper: the client's length is of what it sent
        // (base64 in text mode), not of the DATA frames.
        req.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    let text = web == Some(Mode::Text);
    let inline = d.out().len() > body_at;
    let end = head.body == BodyKind::None && !inline;
    let mut sender = slot.send.clone();
    let ready = std::future::poll_fn(|cx| sender.poll_ready(cx)).await;
    ready.map_err(|e| Failed::NoStream(stream_error(e)))?;
    let (response, mut send) = sender
        .send_request(req, end)
        .map_err(|e| Failed::NoStream(stream_error(e)))?;
    // A text-mode body is decoded on its way (`send_body`): it takes the
    // usual path, since gRPC-Web has no client streaming to keep duplex.
    if !end
        && !text
        && body_at == d.out().len()
        && let Some(body) = d.take_stream_body(head)
    {
        // An HTTP/2 client's body goes beside the response (full duplex).
        return duplex::run(d, head, leg, slot.fd(), response, send, body, answered).await;
    }
    if !end {
        send_body(d, head, &mut send, (body_at, chunked, text), leg)
            .await
            .map_err(Failed::Stream)?;
    }
    let outcome = respond(d, head, leg, slot.fd(), response, answered, judge).await;
    // A response that did not run to its end (a client that left, an error):
    // dropping `send` (and the body in `respond`) resets the stream with CANCEL.
    drop(send);
    outcome
}

/// Waits for the response head, then passes the response on through the
/// downstream, its body read from the stream (`net::h2_body`).
async fn respond<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    leg: Leg<'_>,
    fd: RawFd,
    response: ResponseFuture,
    answered: &mut bool,
    judge: &Judge,
) -> Result<Outcome, Failed> {
    let stream = Failed::Stream;
    let (parts, recv) = wait_response(d, response, leg).await.map_err(stream)?;
    *answered = true;
    // Below 1 KiB: glibc serves it from its small bins without consolidating.
    let mut buf = Vec::with_capacity(512);
    let chunked = render_head(&mut buf, &parts, recv.is_end_stream(), head.is_head);
    let resp = {
        let (parser, fields) = d.response_parser();
        parser.reset();
        match parser.parse_response(&buf, MAX_RESPONSE_HEAD, head.is_head, fields) {
            Ok(Some(resp)) => resp,
            Ok(None) => return Err(stream(ProxyError::Internal("response head"))),
            Err(e) => return Err(stream(ProxyError::UpstreamInvalid(e))),
        }
    };
    if judge.verdict(d, resp.status).is_some() {
        // Dropping the body resets the stream (CANCEL): nothing of the
        // discarded answer stays on the connection.
        return Err(stream(ProxyError::Discarded(resp.status)));
    }
    let mut up = UpstreamConn::h2(H2Body::new(recv, chunked, fd, parts), buf);
    let from = Source {
        addr: leg.addr,
        read_timeout: leg.t.read_timeout,
    };
    d.send_response(head, &resp, &mut up, from)
        .await
        .map_err(stream)
}

/// Sends what was inlined after the head, then streams the rest of the body,
/// and ends the stream.
async fn send_body<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    send: &mut h2::SendStream<Bytes>,
    (body_at, chunked, text): (usize, bool, bool),
    leg: Leg<'_>,
) -> Result<(), ProxyError> {
    let mut sink = request::StreamSink::new(send, chunked, text);
    let mut inline = d.out().split_off(body_at);
    if !inline.is_empty() {
        use crate::http::body::Sink;
        let len = inline.len();
        sink.write(&mut inline, len, leg.write_deadline())
            .await
            .map_err(|e| body_error(e, leg))?;
    } else if head.body != BodyKind::None {
        d.send_body(head, &mut sink, leg.t.write_timeout)
            .await
            .map_err(|e| body_error(e, leg))?;
    }
    sink.finish()
        .map_err(|_| ProxyError::BadBody(ChunkError(request::BASE64)))?;
    drop(sink);
    send.send_data(Bytes::new(), true)
        .map_err(|e| ProxyError::UpstreamIo(h2_io_error(e)))
}

fn body_error(e: crate::http::body::RelayError, leg: Leg<'_>) -> ProxyError {
    use crate::http::body::RelayError;
    match e {
        RelayError::Write(IoFail::Timeout) => ProxyError::UpstreamWriteTimeout(leg.addr),
        RelayError::Write(IoFail::Io(e)) => ProxyError::UpstreamIo(e),
        RelayError::Stopped => ProxyError::UpstreamClosed,
        RelayError::Read(IoFail::Timeout) => ProxyError::RequestTimeout,
        RelayError::Read(_) | RelayError::Eof => ProxyError::ClientClosed,
        RelayError::Invalid(e) => ProxyError::BadBody(e),
        RelayError::TooLarge => ProxyError::BodyTooLarge,
    }
}

/// The response head: `responseHeaderTimeout` bounds the wait, else the
/// transport's `readTimeout`; a client that leaves meanwhile is a 499.
async fn wait_response<D: Downstream>(
    d: &D,
    response: ResponseFuture,
    leg: Leg<'_>,
) -> Result<(Parts, h2::RecvStream), ProxyError> {
    let whole = leg.t.response_header_timeout.map(|t| Instant::now() + t);
    let deadline = leg.read_deadline(whole);
    let wait = rio::until(deadline, response);
    match rio::watched(wait, || d.gone()).await {
        None => Err(ProxyError::ClientClosed),
        Some(Err(_)) if whole.is_some() => Err(ProxyError::UpstreamTimeout),
        Some(Err(_)) => Err(ProxyError::UpstreamReadTimeout(leg.addr)),
        Some(Ok(Err(e))) => Err(stream_error(e)),
        Some(Ok(Ok(resp))) => Ok(resp.into_parts()),
    }
}

/// A stream's failure: a refused stream (REFUSED_STREAM, or above the
/// server's graceful GOAWAY) was never processed; anything else is an I/O
/// failure of the upstream.
pub(super) fn stream_error(e: h2::Error) -> ProxyError {
    let refused = e.reason() == Some(h2::Reason::REFUSED_STREAM)
        || (e.is_go_away() && e.is_remote() && e.reason() == Some(h2::Reason::NO_ERROR));
    if refused {
        return ProxyError::UpstreamRefused(e.to_string());
    }
    ProxyError::UpstreamIo(h2_io_error(e))
}

/// Writes the response head as HTTP/1.1 into `buf`. Returns whether the body
/// is framed as chunked (no length given, and a body may follow).
fn render_head(buf: &mut Vec<u8>, parts: &Parts, end_stream: bool, head_request: bool) -> bool {
    let status = parts.status;
    buf.extend_from_slice(b"HTTP/1.1 ");
    buf.extend_from_slice(status.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    buf.extend_from_slice(b"\r\n");
    let mut has_length = false;
    for (name, value) in &parts.headers {
        // HTTP/2 has no connection-specific fields; a server that sends one
        // anyway does not get to frame the HTTP/1.1 body.
        if matches!(
            name.as_str(),
            "transfer-encoding" | "connection" | "keep-alive"
        ) {
            continue;
        }
        has_length |= name == http::header::CONTENT_LENGTH;
        buf.extend_from_slice(name.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    let bodiless =
        head_request || matches!(status.as_u16(), 204 | 304) || status.is_informational();
    let chunked = !bodiless && !has_length && !end_stream;
    if chunked {
        buf.extend_from_slice(b"transfer-encoding: chunked\r\n");
    } else if !bodiless && !has_length {
        buf.extend_from_slice(b"content-length: 0\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    chunked
}

#[cfg(test)]
mod tests {
    use super::render_head;

    fn parts(status: u16, headers: &[(&str, &str)]) -> http::response::Parts {
        let mut b = http::Response::builder().status(status);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_body_without_length_is_chunked_and_an_empty_one_has_length_zero() {
        let mut buf = Vec::new();
        let grpc = parts(200, &[("content-type", "application/grpc")]);
        assert!(render_head(&mut buf, &grpc, false, false));
        assert_eq!(
            buf,
            b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        buf.clear();
        assert!(!render_head(&mut buf, &parts(404, &[]), true, false));
        assert_eq!(buf, b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        buf.clear();
        let sized = parts(200, &[("content-length", "5")]);
        assert!(!render_head(&mut buf, &sized, false, false));
        buf.clear();
        assert!(!render_head(&mut buf, &parts(204, &[]), true, false));
        assert_eq!(buf, b"HTTP/1.1 204 No Content\r\n\r\n");
    }
}
