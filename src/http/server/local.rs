//! Responses made by the connection itself rather than an upstream — built-in
//! services, errors through the one status map, and the lingering close after a
//! refused request — and the bookkeeping of how much of the request was consumed.

use std::time::{Duration, Instant};

use super::{CLIENT_BUF_SIZE, ClientIo, Conn, Outcome, ReqState};
use crate::http::answer::{self, Answer};
use crate::http::codec::{BodyKind, RequestHead};
use crate::http::error::{ProxyError, error_body, error_response};
use crate::runtime::io;

/// How long, and how much, a refused request is drained before closing.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;

impl<S: ClientIo> Conn<S> {
    /// The request body's length when it is already buffered (a response made here
    /// reads no further), or None.
    pub(super) fn buffered_body(&self, head: &RequestHead) -> Option<usize> {
        match head.body {
            BodyKind::None => Some(0),
            BodyKind::Length(n) if head.head_len as u64 + n <= self.buf.len() as u64 => {
                Some(n as usize)
            }
            _ => None,
        }
    }

    /// For a response made here (no upstream): the connection closes after it when the
    /// body is not buffered (it is never read), or when the client or a stop asks.
    pub(super) fn local_must_close(&self, head: &RequestHead) -> bool {
        self.buffered_body(head).is_none() || head.close || self.w.shutdown.is_fired()
    }

    /// Drops the request from the buffer once a local response no longer needs it.
    pub(super) fn consume_local(&mut self, head: &RequestHead) {
        match self.buffered_body(head) {
            Some(n) => {
                io::consume(&mut self.buf, head.head_len + n);
                self.req = ReqState::Consumed;
            }
            None => self.req = ReqState::Broken,
        }
    }

    pub(super) async fn send_local(&mut self, head: &RequestHead, close: bool) -> Outcome {
        self.consume_local(head);
        self.rec.local_response(&self.out);
        self.response_started = true;
        let deadline = self.write_deadline();
        match io::write_vec(&mut self.io, &mut self.out, deadline).await {
            Ok(()) if !close => Outcome::KeepAlive,
            _ => Outcome::Close,
        }
    }

    pub fn write_deadline(&self) -> Option<Instant> {
        self.ep.cfg.write_timeout.map(|d| Instant::now() + d)
    }

    /// Answers `err` with its status if nothing was sent yet; logs it. `head` is the
    /// request when its bytes are still in the buffer (`ReqState::Untouched`).
    pub async fn fail(&mut self, head: Option<&RequestHead>, err: ProxyError) -> Outcome {
        let status = err.status();
        if !self.response_started {
            self.rec.status = status;
        }
        if status == 499 {
            log::info!(
                "request status=499 client={} entrypoint={}: {err}",
                self.peer,
                self.ep.cfg.name
            );
            return Outcome::Close;
        }
        if status >= 500 {
            // Name the server: a 5xx is most often one upstream's doing.
            log::warn!(
                "request status={status} client={} entrypoint={} upstream={}: {err}",
                self.peer,
                self.ep.cfg.name,
                self.routed
                    .as_ref()
                    .and_then(|v| self.rec.server_url(&v.snapshot))
                    .unwrap_or("-")
            );
        } else {
            log::debug!("request status={status} client={}: {err}", self.peer);
        }
        if self.response_started {
            return Outcome::Close;
        }
        let reusable = match (self.req, head) {
            (ReqState::Untouched, Some(h)) if !matches!(status, 400 | 408 | 431) => {
                let close = self.local_must_close(h);
                self.consume_local(h);
                !close
            }
            (ReqState::Consumed, Some(h)) => !h.close && !self.w.shutdown.is_fired(),
            (ReqState::Consumed, None) => !self.w.shutdown.is_fired(),
            _ => false,
        };
        if let Some((view, id)) = self.catcher(status) {
            // An `errors` middleware catches the proxy's own errors too.
            let is_head = head.is_some_and(|h| h.is_head);
            let sent = self
                .send_error_page(&view, id, status, !reusable, is_head)
                .await;
            return match sent && reusable {
                true => Outcome::KeepAlive,
                false => Outcome::Close,
            };
        }
        self.response_started = true;
        let deadline = self.write_deadline();
        let sent = if self.edits.has_response_edits() {
            // The router's middlewares edit the proxy's own error answers too,
            // as in Traefik, where they wrap the error handler's writer.
            let answer = Answer::text(status, error_body(status));
            self.out.clear();
            let is_head = head.is_some_and(|h| h.is_head);
            answer::write_h1(&mut self.out, &answer, &self.edits, !reusable, is_head);
            self.rec.local_response(&self.out);
            io::write_vec(&mut self.io, &mut self.out, deadline).await
        } else {
            let response = error_response(status, !reusable);
            self.rec.local_response(response);
            io::write_static(&mut self.io, response, deadline).await
        };
        if sent.is_ok() && reusable {
            return Outcome::KeepAlive;
        }
        if sent.is_ok() && matches!(status, 400 | 431) {
            self.linger().await;
        }
        Outcome::Close
    }

    /// Closing with unread request bytes makes the kernel send a reset, which can
    /// destroy the error response before the client reads it. Like nginx's
    /// lingering close: half-close, then read and discard for a short while.
    pub(crate) async fn linger(&mut self) {
        if self.io.shutdown().await.is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER_TIME;
        let mut drained = 0;
        while drained < LINGER_BYTES {
            self.buf.clear();
            io::reserve_up_to(&mut self.buf, CLIENT_BUF_SIZE, CLIENT_BUF_SIZE);
            match io::read_some(&mut self.io, &mut self.buf, usize::MAX, Some(deadline)).await {
                Ok(n) if n > 0 => drained += n,
                _ => return,
            }
        }
    }
}
