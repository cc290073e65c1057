//! `compress` and `errors` on an HTTP/2 stream's response (what both
//! protocols share is in `http::compressing` and `http::error_page`): a
//! compressed body goes out as DATA frames without a length, each piece read
//! from the upstream compressed and flushed through the worker's pooled
//! encoder; a caught status gets the `errors` middleware's page instead of
//! the upstream's answer.

use std::rc::Rc;
use std::sync::Arc;

use super::send::H2Sink;
use super::stream::Stream;
use crate::http::body::{Relay, RelayError};
use crate::http::codec::{RequestHead, ResponseHead};
use crate::http::compressing::{self, Compressing};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::error_page;
use crate::http::server::Outcome;
use crate::middleware::compress::{EncoderPool, Encoding};
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::IoFail;
use crate::worker::view::View;

impl Stream {
    /// The encoding the response goes out in, if its request chose one and it
    /// qualifies (head and size; a body of unknown length is read ahead);
    /// its field edits are made.
    pub(super) async fn compression(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
    ) -> Option<Encoding> {
        let (m, enc) = self.edits.compression().map(|(m, e)| (Arc::clone(m), *e))?;
        if head.is_head || !compressing::qualifies(&m, resp, &self.resp_headers, &up.buf) {
            return None;
        }
        if !compressing::big_enough(&m, resp, up).await {
            return None;
        }
        compressing::edit_fields(&mut self.edits, enc);
        Some(enc)
    }

    /// `send_response` for a status an `errors` middleware catches: the
    /// upstream's body is read and dropped, then the page goes out.
    pub(super) async fn replace_response(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        caught: (Rc<View>, usize),
    ) -> Result<Outcome, ProxyError> {
        error_page::drain(resp, up, from).await?;
        self.rec.origin_status = resp.status;
        self.send_error_page(caught, resp.status, head.is_head)
            .await;
        Ok(Outcome::KeepAlive)
    }

    /// Fetches the page of `errors` middleware `id` for `status` and sends it
    /// as this stream's response.
    pub(super) async fn send_error_page(
        &mut self,
        (view, id): (Rc<View>, usize),
        status: u16,
        is_head: bool,
    ) {
        let mut out = std::mem::take(&mut self.out);
        error_page::write_page(self, &mut out, (&view, id), status, (false, is_head)).await;
        self.out = out;
        self.send_out(is_head).await;
    }
}

/// Relays the body into `dst` through an encoder for `enc` from `pool`,
/// `scratch` holding each piece's output; the compressed bytes sent.
pub(super) async fn relay_compressed(
    pool: &EncoderPool,
    scratch: &mut Vec<u8>,
    (enc, relay): (Encoding, &Relay),
    up: &mut UpstreamConn,
    dst: H2Sink<'_>,
) -> Result<u64, RelayError> {
    let encoder = pool
        .take(enc)
        .map_err(|e| RelayError::Write(IoFail::Io(e)))?;
    scratch.clear();
    let mut sink = Compressing::new(dst, encoder, false, scratch);
    relay.run(&mut up.stream, &mut up.buf, &mut sink).await?;
    sink.finish(relay.write_timeout).await?;
    Ok(sink.sent)
}
