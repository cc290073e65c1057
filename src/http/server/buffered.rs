//! `buffering` on an HTTP/1.1 connection: before forwarding, the request body
//! is read whole (de-chunked) into a [`Spool`], within the middleware's
//! `maxRequestBodyBytes` (413 past it, the request never reaching a server)
//! and the entry point's own limit. The head stays at the front of `buf`
//! (`kept_for_retry`), followed by any pipelined bytes, so every attempt can
//! write it anew; the upstream gets the body with a Content-Length
//! (`Downstream::write_upstream_request`) from the spool (`send_body`).

use super::downstream::CONTINUE_100;
use super::{ClientIo, Conn, Outcome, ReqState};
use crate::http::body::{Relay, RelayError};
use crate::http::codec::{BodyKind, RequestHead};
use crate::http::error::ProxyError;
use crate::http::spool::{Spool, SpoolSink};
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
}
