//! The upstream's answer: reading its head (watching for the client leaving while
//! the upstream is slow), switching protocols, and relaying the response to the
//! client. `readTimeout` bounds each silence of the upstream; once the response
//! has started, a timeout or a departed client closes both connections.

use std::time::Instant;

use super::{Leg, interim};
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{BodyKind, ParseError, RequestHead, ResponseHead, Version};
use crate::http::error::ProxyError;
use crate::http::forward::{self, ResponseFraming};
use crate::http::server::{ClientIo, Conn, INLINE_BODY_MAX, Outcome, ReqState};
use crate::net::upstream::{MAX_RESPONSE_HEAD, UpstreamConn};
use crate::runtime::io::{self, IoFail};

/// Reads one response head. `whole` is the `responseHeaderTimeout` deadline; when
/// there is none, each read has `readTimeout`.
pub(super) async fn read_head<S: ClientIo>(
    c: &mut Conn<S>,
    up: &mut UpstreamConn,
    head_request: bool,
    leg: Leg<'_>,
    whole: Option<Instant>,
) -> Result<ResponseHead, ProxyError> {
    c.parser.reset();
    loop {
        if !up.buf.is_empty() {
            match c.parser.parse_response(
                &up.buf,
                MAX_RESPONSE_HEAD,
                head_request,
                &mut c.resp_headers,
            ) {
                Ok(Some(resp)) => return Ok(resp),
                Ok(None) => {}
                Err(e) => return Err(ProxyError::UpstreamInvalid(e)),
            }
        }
        if !io::reserve_up_to(&mut up.buf, 4096, MAX_RESPONSE_HEAD) {
            return Err(ProxyError::UpstreamInvalid(ParseError::TooLarge));
        }
        let n = read_watching_client(&c.io, up, leg.read_deadline(whole))
            .await
            .map_err(|e| match e {
                IoFail::Io(e) => ProxyError::UpstreamIo(e),
                IoFail::Timeout if whole.is_some() => ProxyError::UpstreamTimeout,
                IoFail::Timeout => ProxyError::UpstreamReadTimeout(leg.addr),
            })?
            .ok_or(ProxyError::ClientClosed)?;
        if n == 0 {
            return Err(if up.buf.is_empty() {
                ProxyError::UpstreamClosed
            } else {
                ProxyError::UpstreamInvalid(ParseError::Invalid("response head cut short"))
            });
        }
    }
}

/// One read from the upstream. Answers fast in the common case; when the upstream is
/// slow, also watches the client: `Ok(None)` when it left (499, the exchange is
/// abandoned).
async fn read_watching_client<S: ClientIo>(
    client: &S,
    up: &mut UpstreamConn,
    deadline: Option<Instant>,
) -> Result<Option<usize>, IoFail> {
    let read = io::read_some(&mut up.stream, &mut up.buf, usize::MAX, deadline);
    io::watched(read, || client.peer_closed()).await.transpose()
}

/// Forwards a `101 Switching Protocols` and hands both connections to the tunnel.
/// A 101 the client did not ask for is a broken upstream.
pub(super) async fn switch_protocols<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    mut up: UpstreamConn,
    resp: &ResponseHead,
) -> Result<Outcome, ProxyError> {
    if !head.upgrade || c.req != ReqState::Consumed {
        return Err(ProxyError::UpstreamInvalid(ParseError::Invalid(
            "unsolicited 101 response",
        )));
    }
    c.out.clear();
    forward::write_response_head(&mut c.out, &up.buf, resp, &c.resp_headers, &interim(), None);
    io::consume(&mut up.buf, resp.head_len);
    c.response_started = true;
    (c.rec.status, c.rec.origin_status) = (101, 101);
    let deadline = c.write_deadline();
    io::write_vec(&mut c.io, &mut c.out, deadline)
        .await
        .map_err(|_| ProxyError::ClientClosed)?;
    Ok(Outcome::Tunnel(up))
}

/// Relays the response head and body to the client.
pub(super) async fn relay<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    up: &mut UpstreamConn,
    resp: &ResponseHead,
    leg: Leg<'_>,
) -> Result<Outcome, ProxyError> {
    let http10 = head.version == Version::Http10;
    let dechunk = http10 && resp.body == BodyKind::Chunked;
    let close = head.close
        || c.w.shutdown.is_fired()
        || resp.body == BodyKind::UntilClose
        || dechunk
        || c.req != ReqState::Consumed;
    let framing = ResponseFraming {
        dechunk,
        close,
        keep_alive_10: http10 && !close,
    };
    c.out.clear();
    forward::write_response_head(
        &mut c.out,
        &up.buf,
        resp,
        &c.resp_headers,
        &framing,
        Some(&c.edits),
    );
    io::consume(&mut up.buf, resp.head_len);
    let mut body = resp.body;
    if let BodyKind::Length(n) = body {
        // The body bytes that came with the head go out in the same write (up to
        // INLINE_BODY_MAX): a 16 KiB response then costs one client write for the
        // head and most of its body, not one for each.
        let inline = (n as usize).min(up.buf.len()).min(INLINE_BODY_MAX);
        c.out.extend_from_slice(&up.buf[..inline]);
        io::consume(&mut up.buf, inline);
        c.rec.resp_bytes = inline as u64;
        body = BodyKind::Length(n - inline as u64);
    }
    let body_done = matches!(body, BodyKind::None | BodyKind::Length(0));
    c.response_started = true;
    (c.rec.status, c.rec.origin_status) = (resp.status, resp.status);
    let deadline = c.write_deadline();
    io::write_vec(&mut c.io, &mut c.out, deadline)
        .await
        .map_err(|_| ProxyError::ClientClosed)?;
    if !body_done {
        relay_body(c, up, body, dechunk, leg).await?;
    }
    Ok(if close {
        Outcome::Close
    } else {
        Outcome::KeepAlive
    })
}

/// Streams the rest of the response body. A failure closes both connections: the
/// status is already out.
async fn relay_body<S: ClientIo>(
    c: &mut Conn<S>,
    up: &mut UpstreamConn,
    kind: BodyKind,
    dechunk: bool,
    leg: Leg<'_>,
) -> Result<(), ProxyError> {
    let relay = Relay {
        kind,
        dechunk,
        read_timeout: leg.t.read_timeout,
        write_timeout: c.ep.cfg.write_timeout,
    };
    let mut sink = ClientSink(&mut c.io);
    let result = relay.run(&mut up.stream, &mut up.buf, &mut sink).await;
    let err = match result {
        Ok(sent) => {
            c.rec.resp_bytes += sent;
            return Ok(());
        }
        Err(RelayError::Read(IoFail::Io(e))) => ProxyError::UpstreamIo(e),
        Err(RelayError::Read(IoFail::Timeout)) => {
            // Too late for a 504 on the wire, but the log and metrics say it.
            c.rec.status = 504;
            ProxyError::UpstreamReadTimeout(leg.addr)
        }
        Err(RelayError::Eof) => ProxyError::UpstreamClosed,
        Err(RelayError::Write(_) | RelayError::Stopped) => ProxyError::ClientClosed,
        Err(RelayError::Invalid(e)) => ProxyError::UpstreamBadBody(e),
    };
    Err(err)
}

/// The client as the destination of a response body: watched for leaving while
/// the upstream is slow, so a departed client frees both sockets at once.
struct ClientSink<'a, S>(&'a mut S);

impl<S: ClientIo> Sink for ClientSink<'_, S> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        io::write_prefix(self.0, buf, len, deadline)
            .await
            .map_err(RelayError::Write)
    }

    fn watch(&self) -> impl std::future::Future<Output = ()> {
        self.0.peer_closed()
    }
}
