//! `buffering` on an HTTP/1.1 connection, and the request kept whole for a
//! `retry` on a status or a failover's `errors`: before forwarding, the
//! request body is read whole (de-chunked) into a [`Spool`], within the
//! middleware's `maxRequestBodyBytes` (413 past it, the request never
//! reaching a server) and the entry point's own limit. The head stays at the front of `buf`
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
use crate::http::body::Relay;
use crate::http::buffered;
use crate::http::codec::{BodyKind, RequestHead, ResponseHead};
use crate::http::downstream::Kept;
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::{ResponseFraming, write_response_head};
use crate::http::keep::{Plan, spool_error};
use crate::http::spool::{Spool, SpoolSink};
use crate::middleware::Buffering;
use crate::net::upstream::UpstreamConn;
use crate::runtime::io;

impl<S: ClientIo> Conn<S> {
    /// Keeps the request whole for another attempt per `plan`
    /// (`http::keep`): its body read into a spool. `Some` is the answer when
    /// it could not be (413, 408, 400, 499).
    pub(super) async fn keep_request(&mut self, head: &RequestHead, plan: Plan) -> Option<Outcome> {
        let (mem, max, status_retry) = match plan {
            Plan::Stream => return None,
            Plan::Refuse => return Some(self.refuse_large_body(head).await),
            Plan::Keep {
                mem,
                max,
                status_retry,
            } => (mem, max, status_retry),
        };
        if head.body != BodyKind::None
            && let Some(answered) = self.spool_request(head, mem, max).await
        {
            return Some(answered);
        }
        let len = self.spool.as_ref().map_or(0, Spool::len);
        self.kept = Kept {
            whole: true,
            status_retry: status_retry.is_some_and(|m| len <= m),
        };
        None
    }

    /// Reads the body into a new spool (`mem` bytes in memory, the rest on
    /// disk, `max` at most), the head kept at the front of `buf`.
    async fn spool_request(
        &mut self,
        head: &RequestHead,
        mem: u64,
        max: Option<u64>,
    ) -> Option<Outcome> {
        let mut spool = Spool::new(mem, max);
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
        let err = spool_error(e);
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
        let rec = &mut self.rec;
        let (mut spool, rest) =
            buffered::read_response(resp, up, from, b, |e| body_error(e, rec, from)).await?;
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
        let framed = buffered::sized_head(resp, &spool, &mut self.edits);
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
