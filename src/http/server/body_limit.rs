//! The entry point's request body limit (`transport.maxRequestBodyBytes`,
//! proxyd's own: Traefik v3 has none on entry points). Nothing is buffered: a
//! declared Content-Length above the limit is answered 413 before routing,
//! and a chunked body is counted as it streams (on the wire, chunk framing
//! included) and cut at the limit, answered 413 if no response started. The
//! connection then closes, lingering so the client can read the answer while
//! it is still sending.

use std::time::Instant;

use super::{ClientIo, Conn, Outcome, ReqState};
use crate::config::EntryPoint;
use crate::http::body::{RelayError, Sink};
use crate::http::codec::{BodyKind, RequestHead};
use crate::http::error::ProxyError;

/// Whether the request declares a body longer than the entry point allows.
pub(super) fn declared_too_large(head: &RequestHead, ep: &EntryPoint) -> bool {
    matches!((head.body, ep.max_request_body_bytes), (BodyKind::Length(n), Some(max)) if n > max)
}

impl<S: ClientIo> Conn<S> {
    pub(super) async fn refuse_large_body(&mut self, head: &RequestHead) -> Outcome {
        // The body is not read: the connection ends after the answer.
        self.req = ReqState::Broken;
        let outcome = self.fail(Some(head), ProxyError::BodyTooLarge).await;
        self.linger().await;
        outcome
    }
}

/// A body destination that refuses bytes past `left`.
pub(super) struct Limited<'a, W> {
    inner: &'a mut W,
    left: u64,
}

impl<'a, W: Sink> Limited<'a, W> {
    pub(super) fn new(inner: &'a mut W, max: u64) -> Self {
        Limited { inner, left: max }
    }
}

impl<W: Sink> Sink for Limited<'_, W> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.left = self
            .left
            .checked_sub(len as u64)
            .ok_or(RelayError::TooLarge)?;
        self.inner.write(buf, len, deadline).await
    }

    fn watch(&self) -> impl std::future::Future<Output = ()> {
        self.inner.watch()
    }
}
