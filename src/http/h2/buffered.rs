//! `buffering` on an HTTP/2 stream, as on an HTTP/1.1 connection and with
//! the same pieces (`http::buffered`): before forwarding, the DATA frames
//! are read whole into a [`Spool`] (memory, then a temporary file), within
//! the middleware's and the entry point's `maxRequestBodyBytes` (413 past
//! it, the request never reaching a server); every attempt then sends the
//! spool with a Content-Length, so `retryExpression` can replay it. The
//! response is read whole before its HEADERS go out: past
//! `maxResponseBodyBytes` the client gets a 500 and nothing of the
//! upstream's answer; otherwise the body follows with its length (and an
//! HTTP/2 upstream's trailers after it).

use std::cell::RefCell;
use std::time::Duration;

use bytes::Bytes;

use super::body_out::body_error;
use super::send::H2Sink;
use super::stream::Stream;
use crate::http::body::{RelayError, Sink};
use crate::http::buffered;
use crate::http::codec::{RequestHead, ResponseHead};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::{ResponseFraming, write_response_head};
use crate::http::server::{Outcome, ReqState};
use crate::middleware::Buffering;
use crate::net::upstream::UpstreamConn;

impl Stream {
    /// The spooled body, sent whole on each attempt.
    pub(super) async fn send_spooled<W: Sink>(
        &mut self,
        dst: &mut W,
        write_timeout: Option<Duration>,
    ) -> Result<u64, RelayError> {
        let Some(spool) = self.spool.as_mut() else {
            return Ok(0);
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        let sent = spool.replay(dst, &mut scratch, write_timeout).await;
        self.scratch = scratch;
        self.req = match sent {
            Ok(_) => ReqState::Consumed,
            Err(_) => ReqState::Broken,
        };
        sent
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
        // The whole response is here: its length replaces the upstream's framing.
        let framed = buffered::sized_head(resp, &spool, &mut self.edits);
        let framing = ResponseFraming {
            dechunk: true,
            close: false,
            keep_alive_10: false,
        };
        self.out.clear();
        let fields = &self.resp_headers;
        write_response_head(
            &mut self.out,
            &up.buf,
            &framed,
            fields,
            &framing,
            Some(&self.edits),
        );
        // The head is written: what is left is what followed the body, so
        // `exchange` pools the connection only when nothing did (as on HTTP/1.1).
        up.buf.clear();
        up.buf.extend_from_slice(&rest);
        let h2resp = super::downstream::h2_head(&self.out)?;
        let trailers = up.stream.h2().and_then(|b| b.take_trailers());
        let empty = head.is_head || (spool.is_empty() && trailers.is_none());
        self.start_response(h2resp, resp.status, empty)?;
        let send = self.send.as_mut().ok_or(ProxyError::ClientClosed)?;
        if empty {
            return Ok(Outcome::KeepAlive);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let window = Some(self.c.window_timeout());
        let mut sink = H2Sink(RefCell::new(send));
        let sent = spool.replay(&mut sink, &mut scratch, window).await;
        let ended = match trailers {
            Some(t) => sink.0.into_inner().send_trailers(t),
            None => sink.0.into_inner().send_data(Bytes::new(), true),
        };
        self.scratch = scratch;
        self.rec.resp_bytes = sent.map_err(|_| ProxyError::ClientClosed)?;
        ended.map_err(|_| ProxyError::ClientClosed)?;
        Ok(Outcome::KeepAlive)
    }
}
