//! `buffering` on an HTTP/1.1 connection: before forwarding, the request body
//! is read whole (de-chunked) into a [`Spool`], within the middleware's
//! `maxRequestBodyBytes` (413 past it, the request never reaching a server)
//! and the entry point's own limit. The head stays at the front of `buf`
//! (`kept_for_retry`), followed by any pipelined bytes, so every attempt can
//! write it anew; the upstream gets the body with a Content-Length
//! (`Downstream::write_upstream_request`) from the spool (`send_body`).
//!
//! The response is read whole the same way (`send_buffered`) before its head
//! goes out: past `maxResponseBodyBytes` the client gets a 500 and nothing of
//! the upstream's answer; otherwise the body goes out with a Content-Length,
//! or compressed and chunked when `compress` chose an encoding for it
//! (`compressed.rs`).

use super::downstream::{CONTINUE_100, ClientSink, body_error};
use super::{ClientIo, Conn, Outcome, ReqState};
use crate::http::body::{Relay, RelayError};
use crate::http::codec::{BodyKind, RequestHead, ResponseHead};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::{ResponseFraming, write_response_head};
use crate::http::spool::{Spool, SpoolSink};
use crate::middleware::{Buffering, HeaderOp};
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::{self, IoFail};

impl<S: ClientIo> Conn<S> {
    /// Reads the body into the spool when a `buffering` middleware asks for
    /// it; `Some` is the answer when it could not (413, 408, 400, 499).
    pub(super) async fn buffer_request(&mut self, head: &RequestHead) -> Option<Outcome> {
        let b = self.edits.buffering()?;
        if head.body == BodyKind::None {
            return None;
        }
        let max = match (b.max_request_body_bytes, self.ep.cfg.max_request_body_bytes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let (BodyKind::Length(n), Some(max)) = (head.body, max)
            && n > max
        {
            // oxy refuses a declared length before reading anything.
            return Some(self.refuse_large_body(head).await);
        }
        let mut spool = Spool::new(b.mem_request_body_bytes, max);
        if head.expect_continue {
            let deadline = self.write_deadline();
            if io::write_static(&mut self.io, CONTINUE_100, deadline)
                .await
                .is_err()
            {
                return Some(self.fail(Some(head), ProxyError::ClientClosed).await);
            }
        }
        let mut rest = self.buf.split_off(head.head_len);
        self.req = ReqState::Broken;
        let relay = Relay {
            kind: head.body,
            dechunk: true,
            read_timeout: self.ep.cfg.read_timeout,
            write_timeout: None,
        };
        let read = relay
            .run(&mut self.io, &mut rest, &mut SpoolSink(&mut spool))
            .await;
        let e = match read {
            Ok(n) => {
                // What followed the body (a pipelined request) goes back behind the head.
                self.buf.extend_from_slice(&rest);
                if head.body == BodyKind::Chunked {
                    self.rec.req_bytes += n;
                }
                log::debug!(
                    "buffered a request body of {n} bytes{}",
                    if spool.spilled() {
                        " (spilled to disk)"
                    } else {
                        ""
                    }
                );
                self.req = ReqState::Consumed;
                self.kept_for_retry = head.head_len;
                self.spool = Some(spool);
                return None;
            }
            Err(e) => e,
        };
        let err = match e {
            RelayError::TooLarge => ProxyError::BodyTooLarge,
            RelayError::Read(IoFail::Timeout) => ProxyError::RequestTimeout,
            RelayError::Invalid(e) => ProxyError::BadBody(e),
            RelayError::Write(IoFail::Io(e)) => {
                log::error!("buffering: cannot write the request body to a temporary file: {e}");
                ProxyError::Internal("temporary file")
            }
            _ => ProxyError::ClientClosed,
        };
        let linger = matches!(err, ProxyError::BodyTooLarge);
        let outcome = self.fail(Some(head), err).await;
        if linger {
            self.linger().await;
        }
        Some(outcome)
    }

    /// Reads the response body whole into a spool, then sends the response
    /// with its length. Nothing goes to the client before the body is read.
    pub(super) async fn send_buffered(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        b: &Buffering,
    ) -> Result<Outcome, ProxyError> {
        let max = b.max_response_body_bytes;
        if let (BodyKind::Length(n), Some(max)) = (resp.body, max)
            && n > max
        {
            return Err(ProxyError::ResponseTooLarge);
        }
        let mut spool = Spool::new(b.mem_response_body_bytes, max);
        let mut rest = up.buf.split_off(resp.head_len);
        let relay = Relay {
            kind: resp.body,
            dechunk: true,
            read_timeout: from.read_timeout,
            write_timeout: None,
        };
        let read = relay
            .run(&mut up.stream, &mut rest, &mut SpoolSink(&mut spool))
            .await;
        match read {
            Ok(_) => {}
            Err(RelayError::TooLarge) => return Err(ProxyError::ResponseTooLarge),
            Err(RelayError::Write(IoFail::Io(e))) => {
                log::error!("buffering: cannot write a response body to a temporary file: {e}");
                return Err(ProxyError::Internal("temporary file"));
            }
            Err(e) => return Err(body_error(e, &mut self.rec, from)),
        }
        if self.edits.compression().is_some() {
            // `compress` takes the whole body from the spool, chunked.
            let sent = Box::pin(self.send_compressed_spool(head, resp, up, &mut spool)).await;
            if let Some(done) = sent.transpose() {
                up.buf.clear();
                up.buf.extend_from_slice(&rest);
                return done;
            }
        }
        // The whole response is here: its length replaces the upstream's framing.
        let close = head.close || self.w.shutdown.is_fired() || self.req != ReqState::Consumed;
        let mut framed = resp.clone();
        framed.drop_content_length = true;
        let length = spool.len().to_string();
        self.edits
            .response_header(HeaderOp::Set, b"Content-Length", length.as_bytes());
        let framing = ResponseFraming {
            dechunk: true,
            close,
            keep_alive_10: head.version == crate::http::codec::Version::Http10 && !close,
        };
        self.out.clear();
        write_response_head(
            &mut self.out,
            &up.buf,
            &framed,
            &self.resp_headers,
            &framing,
            Some(&self.edits),
        );
        // What followed the body is not this response's: the connection is
        // not pooled with it (`exchange` checks `up.buf`).
        up.buf.clear();
        up.buf.extend_from_slice(&rest);
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (resp.status, resp.status);
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
        let mut scratch = Vec::new();
        let sent = spool
            .replay(
                &mut ClientSink(&mut self.io),
                &mut scratch,
                self.ep.cfg.write_timeout,
            )
            .await;
        self.rec.resp_bytes = sent.map_err(|_| ProxyError::ClientClosed)?;
        Ok(if close {
            Outcome::Close
        } else {
            Outcome::KeepAlive
        })
    }
}
