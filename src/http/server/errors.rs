//! The `errors` middleware's response side on HTTP/1.1 (`http::error_page`
//! holds what both protocols share): a caught response's body is read and
//! dropped, then the page goes out in its place on the connection.

use std::rc::Rc;

use super::{ClientIo, Conn, Outcome, ReqState};
use crate::http::codec::{RequestHead, ResponseHead};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::error_page;
use crate::net::upstream::UpstreamConn;
use crate::runtime::io;
use crate::worker::view::View;

impl<S: ClientIo> Conn<S> {
    /// Keeps what an error page request needs of the request.
    pub(super) fn save_for_errors(&mut self, head: &RequestHead) {
        error_page::save_request(&mut self.edits, head, &self.buf, &self.headers, self.tls);
    }

    /// The innermost `errors` middleware of the chain that catches `status`.
    pub(super) fn catcher(&self, status: u16) -> Option<(Rc<View>, usize)> {
        error_page::catcher(&self.edits, self.routed.as_ref(), status)
    }

    /// `send_response` for a caught status: the upstream's body is read and
    /// dropped (so its connection can be reused), then the page goes out.
    pub(super) async fn replace_response(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        (view, id): (Rc<View>, usize),
    ) -> Result<Outcome, ProxyError> {
        error_page::drain(resp, up, from).await?;
        self.rec.origin_status = resp.status;
        let close = head.close || self.w.shutdown.is_fired() || self.req != ReqState::Consumed;
        let sent = self
            .send_error_page(&view, id, resp.status, close, head.is_head)
            .await;
        Ok(if sent && !close {
            Outcome::KeepAlive
        } else {
            Outcome::Close
        })
    }

    /// Fetches and sends the page of `errors` middleware `id` for `status`;
    /// whether it was written.
    pub(super) async fn send_error_page(
        &mut self,
        view: &View,
        id: usize,
        status: u16,
        close: bool,
        is_head: bool,
    ) -> bool {
        let mut out = std::mem::take(&mut self.out);
        error_page::write_page(self, &mut out, (view, id), status, (close, is_head)).await;
        self.out = out;
        self.response_started = true;
        self.rec.local_response(&self.out);
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .is_ok()
    }
}
