//! An HTTP/2 stream as the client side of a proxied request (`Downstream`):
//! the request's field block is its head in HTTP/1.1 form (`head`); the body
//! comes from DATA frames, re-framed as chunked when the client declared no
//! length, its flow-control window released only once the upstream took the
//! bytes; the response goes out as HEADERS then DATA, de-chunked, each chunk
//! sent only when the client's window has room, so memory stays bounded by
//! the relay buffer and `DEFAULT_SEND_BUFFER`. A client's RST_STREAM or a
//! closed connection is its departure (499).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::SendStream;

use super::request_body::{chunk_size_line, drain};
use super::stream::Stream;
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{BodyKind, HeadParser, HeaderSpan, ParseError, RequestHead, ResponseHead};
use crate::http::downstream::{
    Answered, Downstream, ServerSide, Source, StreamBody, Written, idempotent,
};
use crate::http::error::ProxyError;
use crate::http::error_page;
use crate::http::forward::{self, Forwarding, ResponseFraming};
use crate::http::server::{Outcome, ReqState};
use crate::middleware::HeaderOp;
use crate::net::upstream::{Pool, UpstreamConn};
use crate::observe::Record;
use crate::runtime::io::{self as rio, IoFail};

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
        forward::write_request_head(&mut self.out, &self.buf, head, &self.headers, &fw);
        // A stream without a body is whole with its head; a body comes from
        // frames, never from a buffer, so it is never inlined.
        let inline = head.body == BodyKind::None;
        Written {
            inline,
            replayable: inline && idempotent(head.method.get(&self.buf)),
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
        let Some(mut body) = self.body.take() else {
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
        let read_timeout = self.c.ep.cfg.read_timeout;
        let mut buf = std::mem::take(&mut self.scratch);
        let mut sent = 0u64;
        // A `buffering` middleware's limit holds too: its body is streamed,
        // not buffered, on HTTP/2, but never past that limit.
        let buffered = self
            .edits
            .buffering()
            .and_then(|b| b.max_request_body_bytes);
        let limit = match (self.c.ep.cfg.max_request_body_bytes, buffered) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        loop {
            let deadline = read_timeout.map(|d| Instant::now() + d);
            let next = rio::until(deadline, poll_fn(|cx| body.poll_data(cx)));
            let data = match rio::watched(next, || dst.watch()).await {
                None => return Err(RelayError::Stopped),
                Some(Err(e)) => return Err(RelayError::Read(e)),
                Some(Ok(None)) => break,
                Some(Ok(Some(Ok(d)))) => d,
                // The client reset the stream, or the connection ended.
                Some(Ok(Some(Err(_)))) => return Err(RelayError::Eof),
            };
            if data.is_empty() {
                continue;
            }
            // The entry point's `transport.maxRequestBodyBytes`, counted on
            // the DATA frames' payload (a declared length over it was
            // refused before routing).
            if limit.is_some_and(|max| sent + data.len() as u64 > max) {
                drain(&mut body).await;
                return Err(RelayError::TooLarge);
            }
            buf.clear();
            if chunked {
                chunk_size_line(&mut buf, data.len());
            }
            buf.extend_from_slice(&data);
            if chunked {
                buf.extend_from_slice(b"\r\n");
            }
            let len = buf.len();
            dst.write(&mut buf, len, write_timeout.map(|d| Instant::now() + d))
                .await?;
            // Only now may the client send more: the window bounds what waits here.
            let _ = body.flow_control().release_capacity(data.len());
            sent += data.len() as u64;
        }
        if chunked {
            buf.clear();
            buf.extend_from_slice(b"0\r\n\r\n");
            dst.write(&mut buf, 5, write_timeout.map(|d| Instant::now() + d))
                .await?;
            self.rec.req_bytes += sent;
        }
        self.scratch = buf;
        self.req = ReqState::Consumed;
        Ok(sent)
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
        self.out.clear();
        let edits = Some(&self.edits);
        forward::write_response_head(
            &mut self.out,
            &up.buf,
            framed,
            &self.resp_headers,
            &framing,
            edits,
        );
        rio::consume(&mut up.buf, resp.head_len);
        let Some((h2resp, _)) = super::head::response_from_h1(&self.out) else {
            return Err(ProxyError::UpstreamInvalid(ParseError::Invalid(
                "response head",
            )));
        };
        let empty = encoding.is_none()
            && (head.is_head || matches!(resp.body, BodyKind::None | BodyKind::Length(0)));
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (resp.status, resp.status);
        let sent = self
            .respond
            .borrow_mut()
            .as_mut()
            .map(|r| r.send_response(h2resp, empty));
        let send = sent.and_then(Result::ok).ok_or(ProxyError::ClientClosed)?;
        let send = self.send.insert(send);
        if !empty {
            let relay = Relay {
                kind: resp.body,
                dechunk: true,
                read_timeout: from.read_timeout,
                write_timeout: Some(self.c.window_timeout()),
            };
            let mut sink = H2Sink(RefCell::new(send));
            let sent = match encoding {
                Some(enc) => {
                    let (w, scratch) = (&self.c.w, &mut self.scratch);
                    let to = (enc, &relay);
                    Box::pin(super::compressed::relay_compressed(
                        &w.encoders,
                        scratch,
                        to,
                        up,
                        sink,
                    ))
                    .await
                }
                None => relay.run(&mut up.stream, &mut up.buf, &mut sink).await,
            };
            self.rec.resp_bytes += sent.map_err(|e| body_error(e, &mut self.rec, from))?;
            // An HTTP/2 upstream's trailers (gRPC's status) end the stream.
            match up.stream.h2().and_then(|b| b.take_trailers()) {
                Some(trailers) => send.send_trailers(trailers),
                None => send.send_data(Bytes::new(), true),
            }
            .map_err(|_| ProxyError::ClientClosed)?;
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

    fn end_attempts(&mut self) {
        // Nothing is kept for another attempt: a stream's body comes from
        // frames, and a bodiless request is its head alone (`out`).
    }
}

/// A failure while the response body streams: the status is out, so the
/// stream is reset.
fn body_error(e: RelayError, rec: &mut Record, from: Source) -> ProxyError {
    match e {
        RelayError::Read(IoFail::Io(e)) => ProxyError::UpstreamIo(e),
        RelayError::Read(IoFail::Timeout) => {
            rec.status = 504;
            ProxyError::UpstreamReadTimeout(from.addr)
        }
        RelayError::Eof => ProxyError::UpstreamClosed,
        RelayError::Write(_) | RelayError::Stopped => ProxyError::ClientClosed,
        RelayError::Invalid(e) => ProxyError::UpstreamBadBody(e),
        RelayError::TooLarge => ProxyError::BodyTooLarge,
    }
}

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
