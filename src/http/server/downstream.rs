//! An HTTP/1.1 connection as the client side of a proxied request
//! (`Downstream`): the request's field block is the head in `buf`; the body
//! follows it in `buf` and on the socket (Content-Length or chunked, passed on
//! unchanged); the response goes out as HTTP/1.1, de-chunked for HTTP/1.0
//! clients, with `Connection: close` when this connection ends after it.

use std::time::Duration;

use super::{ClientIo, Conn, INLINE_BODY_MAX, Outcome, ReqState};
use crate::config::FailoverErrors;
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::Version;
use crate::http::codec::{BodyKind, HeadParser, HeaderSpan, ParseError, RequestHead, ResponseHead};
use crate::http::downstream::{
    Answered, Downstream, Kept, ServerSide, Source, Written, idempotent,
};
use crate::http::error::ProxyError;
use crate::http::forward::{self, Forwarding, ResponseFraming};
use crate::http::keep::{Plan, Policies};
use crate::middleware::HeaderOp;
use crate::net::upstream::{Pool, UpstreamConn};
use crate::observe::Record;
use crate::runtime::io::{self, IoFail};

pub(super) const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl<S: ClientIo> Downstream for Conn<S> {
    fn pool(&self) -> &Pool {
        &self.w.pool
    }

    fn client_ip(&self) -> &str {
        self.client_ip.as_str()
    }

    fn request_cookie(&self, name: &[u8]) -> Option<&[u8]> {
        crate::http::cookie::in_fields(&self.buf, &self.headers, name)
    }

    fn add_response_header(&mut self, name: &[u8], parts: &[&[u8]]) {
        self.edits
            .response_header_joined(HeaderOp::Add, name, parts);
    }

    fn record(&mut self) -> &mut Record {
        &mut self.rec
    }

    fn edits(&self) -> &crate::middleware::Edits {
        &self.edits
    }

    fn body_state(&self) -> ReqState {
        self.req
    }

    fn response_started(&self) -> bool {
        self.response_started
    }

    fn write_upstream_request(&mut self, head: &RequestHead, server: &ServerSide) -> Written {
        let fw = Forwarding {
            host_override: server.host_override,
            default_host: server.default_host,
            path_prefix: server.path_prefix,
            client_ip: self.client_ip.as_str(),
            trusted: self.trusted,
            proto: if self.tls { "https" } else { "http" },
            port: &self.ep.port_text,
            hostname: &self.w.hostname,
            upgrade: head.upgrade,
            edits: &self.edits,
        };
        if let Some(spool) = &self.spool {
            // A buffered body (`buffered.rs`) goes with its length, from the
            // spool; the head stays in `buf` for the next attempt.
            let sized = RequestHead {
                body: BodyKind::Length(spool.len()),
                ..head.clone()
            };
            forward::write_request_head(&mut self.out, &self.buf, &sized, &self.headers, &fw);
            return Written {
                inline: false,
                replayable: idempotent(head.method.get(&self.buf)),
            };
        }
        forward::write_request_head(&mut self.out, &self.buf, head, &self.headers, &fw);
        let Some(n) = inline_body(head, self.buf.len()) else {
            return Written {
                inline: false,
                replayable: false,
            };
        };
        let replayable = idempotent(head.method.get(&self.buf));
        self.out
            .extend_from_slice(&self.buf[head.head_len..head.head_len + n]);
        if self.edits.retry().is_some() || self.kept.whole {
            // Kept for the next attempt's head (another server may need
            // another Host); `end_attempts` lets it go.
            self.kept_for_retry = head.head_len + n;
        } else {
            io::consume(&mut self.buf, head.head_len + n);
        }
        self.req = ReqState::Consumed;
        // From here on the head's spans no longer point at its bytes; only its
        // flags are used.
        Written {
            inline: true,
            replayable,
        }
    }

    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    async fn send_body<W: Sink>(
        &mut self,
        head: &RequestHead,
        dst: &mut W,
        write_timeout: Option<Duration>,
    ) -> Result<u64, RelayError> {
        if let Some(spool) = self.spool.as_mut() {
            // Sent again whole on each attempt.
            return spool.resend(dst, write_timeout, &mut self.req).await;
        }
        io::consume(&mut self.buf, head.head_len);
        self.req = ReqState::Broken;
        if head.expect_continue {
            let deadline = self.write_deadline();
            io::write_static(&mut self.io, CONTINUE_100, deadline)
                .await
                // The client is not reading: it has as good as gone.
                .map_err(|_| RelayError::Eof)?;
        }
        let relay = Relay {
            kind: head.body,
            dechunk: false,
            read_timeout: self.ep.cfg.read_timeout,
            write_timeout,
        };
        let sent = match self.ep.cfg.max_request_body_bytes {
            Some(max) => {
                let mut limited = super::body_limit::Limited::new(dst, max);
                relay.run(&mut self.io, &mut self.buf, &mut limited).await?
            }
            None => relay.run(&mut self.io, &mut self.buf, dst).await?,
        };
        if head.body == BodyKind::Chunked {
            self.rec.req_bytes += sent;
        }
        self.req = ReqState::Consumed;
        Ok(sent)
    }

    fn response_parser(&mut self) -> (&mut HeadParser, &mut Vec<HeaderSpan>) {
        (&mut self.parser, &mut self.resp_headers)
    }

    fn gone(&self) -> impl Future<Output = ()> {
        self.io.peer_closed()
    }

    async fn send_interim(
        &mut self,
        head: &RequestHead,
        up: Answered<'_>,
    ) -> Result<(), ProxyError> {
        if head.version != Version::Http11 {
            return Ok(());
        }
        self.write_head(up.buf, up.resp, &passed_on(), false);
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)
    }

    async fn send_response(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
    ) -> Result<Outcome, ProxyError> {
        if let Some(caught) = self.catcher(resp.status) {
            // An `errors` middleware sends its page instead (`errors.rs`).
            return self.replace_response(head, resp, up, from, caught).await;
        }
        if let Some(mode) = self.edits.grpc_web() {
            // `grpcWeb` converts the response (`grpc_web.rs`).
            return Box::pin(self.send_grpc_web(head, resp, up, from, mode)).await;
        }
        if let Some(b) = self
            .edits
            .buffering()
            .filter(|_| resp.body != BodyKind::None)
        {
            // `buffering` reads the whole response first (`buffered.rs`).
            let b = b.clone();
            return Box::pin(self.send_buffered(head, resp, up, from, &b)).await;
        }
        if self.edits.compression().is_some()
            && let Some(sent) = Box::pin(self.try_compressed(head, resp, up, from)).await
        {
            return sent;
        }
        let http10 = head.version == Version::Http10;
        let dechunk = http10 && resp.body == BodyKind::Chunked;
        let close = head.close
            || self.w.shutdown.is_fired()
            || resp.body == BodyKind::UntilClose
            || dechunk
            || self.req != ReqState::Consumed;
        let framing = ResponseFraming {
            dechunk,
            close,
            keep_alive_10: http10 && !close,
        };
        self.write_head(&up.buf, resp, &framing, true);
        io::consume(&mut up.buf, resp.head_len);
        let mut body = resp.body;
        if let BodyKind::Length(n) = body {
            // The body bytes that came with the head go out in the same write (up to
            // INLINE_BODY_MAX): a 16 KiB response then costs one client write for the
            // head and most of its body, not one for each.
            let inline = (n as usize).min(up.buf.len()).min(INLINE_BODY_MAX);
            self.out.extend_from_slice(&up.buf[..inline]);
            io::consume(&mut up.buf, inline);
            self.rec.resp_bytes = inline as u64;
            body = BodyKind::Length(n - inline as u64);
        }
        let body_done = matches!(body, BodyKind::None | BodyKind::Length(0));
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (resp.status, resp.status);
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
        if !body_done {
            let relay = Relay {
                kind: body,
                dechunk,
                read_timeout: from.read_timeout,
                write_timeout: self.ep.cfg.write_timeout,
            };
            let mut sink = ClientSink(&mut self.io);
            let sent = relay.run(&mut up.stream, &mut up.buf, &mut sink).await;
            self.rec.resp_bytes += sent.map_err(|e| body_error(e, &mut self.rec, from))?;
        }
        Ok(if close {
            Outcome::Close
        } else {
            Outcome::KeepAlive
        })
    }

    async fn switch_protocols(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        mut up: UpstreamConn,
    ) -> Result<Outcome, ProxyError> {
        if !head.upgrade || self.req != ReqState::Consumed {
            return Err(ProxyError::UpstreamInvalid(ParseError::Invalid(
                "unsolicited 101 response",
            )));
        }
        self.write_head(&up.buf, resp, &passed_on(), false);
        io::consume(&mut up.buf, resp.head_len);
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (101, 101);
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
        Ok(Outcome::Tunnel(up))
    }

    async fn fail(&mut self, head: &RequestHead, err: ProxyError) -> Outcome {
        Conn::fail(self, Some(head), err).await
    }

    async fn linger(&mut self) {
        Conn::linger(self).await
    }

    fn retry_policy(&self) -> Option<crate::middleware::Retry> {
        self.edits.retry()
    }

    fn replay(&self, attempt: u32, status: u16) -> bool {
        // A buffering request reaches forwarding only with its body spooled
        // (or without one): it is whole.
        crate::http::buffered::replays(&self.edits, self.response_started, attempt, status)
    }

    fn grpc_web(&self) -> Option<crate::middleware::grpc_web::Mode> {
        self.edits.grpc_web()
    }

    async fn keep(
        &mut self,
        head: &RequestHead,
        fallback: Option<FailoverErrors>,
    ) -> Option<Outcome> {
        self.kept = Kept::default();
        let method = head.method.get(&self.buf);
        let entry_max = self.ep.cfg.max_request_body_bytes;
        let plan = Policies::of(&self.edits, method, fallback, entry_max)?.plan(head.body);
        if plan == Plan::Stream {
            return None;
        }
        // Boxed: only requests that may be sent again pay for its future.
        Box::pin(self.keep_request(head, plan)).await
    }

    fn kept(&self) -> Kept {
        match self.response_started {
            true => Kept::default(),
            false => self.kept,
        }
    }

    fn end_attempts(&mut self) {
        self.spool = None;
        self.kept = Kept::default();
        io::consume(&mut self.buf, std::mem::take(&mut self.kept_for_retry));
    }
}

impl<S: ClientIo> Conn<S> {
    /// Writes a response head read from the upstream (`buf` starts with it)
    /// into `out`, with the middlewares' response edits when `edited`.
    fn write_head(&mut self, buf: &[u8], resp: &ResponseHead, f: &ResponseFraming, edited: bool) {
        self.out.clear();
        let edits = edited.then_some(&self.edits);
        forward::write_response_head(&mut self.out, buf, resp, &self.resp_headers, f, edits);
    }
}

/// The request body travels in the head's write when it is small and already here.
fn inline_body(head: &RequestHead, buffered: usize) -> Option<usize> {
    match head.body {
        BodyKind::None => Some(0),
        BodyKind::Length(n)
            if n as usize <= INLINE_BODY_MAX && head.head_len + n as usize <= buffered =>
        {
            Some(n as usize)
        }
        _ => None,
    }
}

/// An interim or 101 head, passed on as it came (its framing is the
/// upstream's).
fn passed_on() -> ResponseFraming {
    ResponseFraming {
        dechunk: false,
        close: false,
        keep_alive_10: false,
    }
}

/// A failure while the response body streams. Both connections close: the
/// status is already out.
pub(super) fn body_error(e: RelayError, rec: &mut Record, from: Source) -> ProxyError {
    match e {
        RelayError::Read(IoFail::Io(e)) => ProxyError::UpstreamIo(e),
        RelayError::Read(IoFail::Timeout) => {
            // Too late for a 504 on the wire, but the log and metrics say it.
            rec.status = 504;
            ProxyError::UpstreamReadTimeout(from.addr)
        }
        RelayError::Eof => ProxyError::UpstreamClosed,
        RelayError::Write(_) | RelayError::Stopped | RelayError::TooLarge => {
            ProxyError::ClientClosed
        }
        RelayError::Invalid(e) => ProxyError::UpstreamBadBody(e),
    }
}

/// The client as the destination of a response body: watched for leaving while
/// the upstream is slow, so a departed client frees both sockets at once.
pub(super) struct ClientSink<'a, S>(pub(super) &'a mut S);

impl<S: ClientIo> Sink for ClientSink<'_, S> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), RelayError> {
        io::write_prefix(self.0, buf, len, deadline)
            .await
            .map_err(RelayError::Write)
    }

    fn watch(&self) -> impl Future<Output = ()> {
        self.0.peer_closed()
    }
}
