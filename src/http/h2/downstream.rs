//! An HTTP/2 stream as the client side of a proxied request (`Downstream`):
//! the request's field block is its head in HTTP/1.1 form (`head`); the body
//! comes from DATA frames, re-framed as chunked when the client declared no
//! length, its flow-control window released only once the upstream took the
//! bytes; the response goes out as HEADERS then DATA, de-chunked, each chunk
//! sent only when the client's window has room, so memory stays bounded by
//! the relay buffer and `DEFAULT_SEND_BUFFER`. A client's RST_STREAM or a
//! closed connection is its departure (499).

use std::time::Duration;

use super::stream::Stream;
use crate::config::FailoverErrors;
use crate::http::body::{RelayError, Sink};
use crate::http::codec::{BodyKind, HeadParser, HeaderSpan, ParseError, RequestHead, ResponseHead};
use crate::http::downstream::{
    Answered, Downstream, Kept, ServerSide, Source, StreamBody, Written, idempotent,
};
use crate::http::error::ProxyError;
use crate::http::error_page;
use crate::http::forward::{self, Forwarding, ResponseFraming};
use crate::http::keep::{Plan, Policies};
use crate::http::server::{Outcome, ReqState};
use crate::middleware::HeaderOp;
use crate::net::upstream::{Pool, UpstreamConn};
use crate::observe::Record;
use crate::runtime::io as rio;

impl Downstream for Stream {
    fn pool(&self) -> &Pool {
        &self.c.w.pool
    }

    fn client_ip(&self) -> &str {
        self.c.client_ip.as_str()
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
            client_ip: self.c.client_ip.as_str(),
            trusted: self.c.trusted,
            proto: if self.c.tls { "https" } else { "http" },
            port: &self.c.ep.port_text,
            hostname: &self.c.w.hostname,
            upgrade: false,
            edits: &self.edits,
        };
        self.out.clear();
        if let Some(spool) = &self.spool {
            // A buffered body (`buffered.rs`) goes with its length, from the
            // spool, on every attempt.
            let sized = RequestHead {
                body: BodyKind::Length(spool.len()),
                ..head.clone()
            };
            forward::write_request_head(&mut self.out, &self.buf, &sized, &self.headers, &fw);
            let replayable = idempotent(head.method.get(&self.buf));
            return Written {
                inline: false,
                replayable,
            };
        }
        forward::write_request_head(&mut self.out, &self.buf, head, &self.headers, &fw);
        // A stream without a body is whole with its head; a body comes from
        // frames, never from a buffer, so it is never inlined. One kept in a
        // spool (`keep.rs`) can be sent again.
        let inline = head.body == BodyKind::None;
        let whole = inline || self.spool.is_some();
        Written {
            inline,
            replayable: whole && idempotent(head.method.get(&self.buf)),
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
        if self.spool.is_some() {
            // Sent again whole on each attempt (`keep.rs`), with its length.
            return self.send_spooled(dst, write_timeout).await;
        }
        let Some(body) = self.body.take() else {
            return self.send_taken(head, dst, write_timeout).await;
        };
        self.req = ReqState::Broken;
        if head.expect_continue {
            let cont = http::Response::builder()
                .status(100)
                .body(())
                .unwrap_or_default();
            if let Some(r) = self.respond.borrow_mut().as_mut() {
                let _ = r.send_informational(cont);
            }
        }
        let chunked = head.body == BodyKind::Chunked;
        self.read_body(body, chunked, dst, write_timeout).await
    }

    fn response_parser(&mut self) -> (&mut HeadParser, &mut Vec<HeaderSpan>) {
        (&mut self.parser, &mut self.resp_headers)
    }
    fn gone(&self) -> impl Future<Output = ()> {
        self.client_gone()
    }

    async fn send_interim(
        &mut self,
        _head: &RequestHead,
        up: Answered<'_>,
    ) -> Result<(), ProxyError> {
        // 1xx from an HTTP/1.1 upstream (103 Early Hints…) go on as
        // informational HEADERS, as Traefik's (Go's) reverse proxy relays
        // them. Not 100: the one the client asked for was sent when its body
        // was wanted.
        if up.resp.status == 100 {
            return Ok(());
        }
        let framing = ResponseFraming {
            dechunk: true,
            close: false,
            keep_alive_10: false,
        };
        self.out.clear();
        let fields = &self.resp_headers;
        forward::write_response_head(&mut self.out, up.buf, up.resp, fields, &framing, None);
        if let (Some((resp, _)), Some(r)) = (
            super::head::response_from_h1(&self.out),
            self.respond.borrow_mut().as_mut(),
        ) {
            let _ = r.send_informational(resp);
        }
        Ok(())
    }

    async fn send_response(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
    ) -> Result<Outcome, ProxyError> {
        if let Some(caught) = error_page::catcher(&self.edits, self.routed.as_ref(), resp.status) {
            // An `errors` middleware sends its page instead (`compressed.rs`).
            return Box::pin(self.replace_response(head, resp, up, from, caught)).await;
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
        let encoding = match self.edits.compression() {
            Some(_) => Box::pin(self.compression(head, resp, up)).await,
            None => None,
        };
        let framing = ResponseFraming {
            dechunk: true,
            close: false,
            keep_alive_10: false,
        };
        // A compressed body's length is unknown: DATA frames end it.
        let unframed;
        let framed = match encoding {
            Some(_) => {
                unframed = ResponseHead {
                    drop_content_length: true,
                    ..resp.clone()
                };
                &unframed
            }
            None => resp,
        };
        // An HTTP/2 upstream's head goes on as it came when nothing edits
        // it; else it is written as HTTP/1.1 with the edits, and converted.
        let plain = encoding.is_none() && self.edits.is_empty();
        let kept = up.stream.h2().and_then(|b| b.take_head()).filter(|_| plain);
        let h2resp = match kept {
            Some(parts) => super::head::response_from_h2(parts, resp.body),
            None => {
                self.out.clear();
                let (buf, fields, edits) = (&up.buf, &self.resp_headers, Some(&self.edits));
                forward::write_response_head(&mut self.out, buf, framed, fields, &framing, edits);
                h2_head(&self.out)?
            }
        };
        rio::consume(&mut up.buf, resp.head_len);
        let empty = encoding.is_none()
            && (head.is_head || matches!(resp.body, BodyKind::None | BodyKind::Length(0)));
        self.start_response(h2resp, resp.status, empty)?;
        if !empty {
            self.relay_body(resp, up, from, encoding).await?;
        }
        Ok(Outcome::KeepAlive)
    }

    async fn switch_protocols(
        &mut self,
        _head: &RequestHead,
        _resp: &ResponseHead,
        _up: UpstreamConn,
    ) -> Result<Outcome, ProxyError> {
        // An HTTP/2 request never asks for an upgrade.
        Err(ProxyError::UpstreamInvalid(ParseError::Invalid(
            "unsolicited 101 response",
        )))
    }

    async fn fail(&mut self, head: &RequestHead, err: ProxyError) -> Outcome {
        Stream::fail(self, Some(head), err).await;
        Outcome::Close
    }

    async fn linger(&mut self) {
        // The response is out and the request body is not wanted: released
        // now, so RST_STREAM(NO_ERROR) follows the response at once.
        self.release();
    }

    fn retry_policy(&self) -> Option<crate::middleware::Retry> {
        self.edits.retry()
    }

    fn take_stream_body(&mut self, head: &RequestHead) -> Option<StreamBody> {
        // A client that waits for `100 Continue` goes the usual way (`send_body`).
        if head.expect_continue {
            return None;
        }
        let recv = self.body.take()?;
        self.req = ReqState::Broken;
        Some(StreamBody {
            recv,
            max_bytes: self.c.ep.cfg.max_request_body_bytes,
            read_timeout: self.c.ep.cfg.read_timeout,
        })
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
        let entry_max = self.c.ep.cfg.max_request_body_bytes;
        let plan = Policies::of(&self.edits, method, fallback, entry_max)?.plan(head.body);
        if plan == Plan::Stream {
            return None;
        }
        // Boxed: only requests that may be sent again pay for its future.
        let kept = Box::pin(self.keep_request(head, plan)).await;
        (!kept).then_some(Outcome::Close)
    }

    fn kept(&self) -> Kept {
        match self.response_started {
            true => Kept::default(),
            false => self.kept,
        }
    }

    fn replay(&self, attempt: u32, status: u16) -> bool {
        // As on HTTP/1.1: a buffering request is forwarded only once its
        // body is spooled (or it has none), so it is whole.
        crate::http::buffered::replays(&self.edits, self.response_started, attempt, status)
    }

    fn end_attempts(&mut self) {
        // The head stays in `buf` for the stream's life; a kept body goes.
        self.spool = None;
        self.kept = Kept::default();
    }
}

/// The HTTP/2 response for the HTTP/1.1 head `h1` (as forwarding wrote it).
pub(super) fn h2_head(h1: &[u8]) -> Result<http::Response<()>, ProxyError> {
    match super::head::response_from_h1(h1) {
        Some((resp, _)) => Ok(resp),
        None => Err(ProxyError::UpstreamInvalid(ParseError::Invalid(
            "response head",
        ))),
    }
}

impl Stream {
    /// Sends the response's HEADERS (ending the stream when `empty`) and
    /// records the upstream's status; the body goes on `self.send`.
    pub(super) fn start_response(
        &mut self,
        resp: http::Response<()>,
        status: u16,
        empty: bool,
    ) -> Result<(), ProxyError> {
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (status, status);
        let sent = self
            .respond
            .borrow_mut()
            .as_mut()
            .map(|r| r.send_response(resp, empty));
        let send = sent.and_then(Result::ok).ok_or(ProxyError::ClientClosed)?;
        self.send = Some(send);
        Ok(())
    }
}
