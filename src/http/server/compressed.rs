//! The `compress` middleware's response side on HTTP/1.1: the seam is
//! `Downstream::send_response`, which hands a response whose request chose an
//! encoding here first. When the response qualifies (`http::compressing`:
//! its head, and at least `minResponseBodyBytes` of body), its head goes out
//! without Content-Length (and Accept-Ranges), with `Content-Encoding` and
//! chunked framing, and the body streams through the worker's pooled encoder:
//! `Relay` de-chunks what the upstream sends, each piece read is compressed,
//! flushed and sent as one chunk, so a streamed response reaches the client
//! as it comes. Body bytes that came with the upstream's head go out in the
//! head's write, and the last piece ends the stream in its own (a body read
//! whole: one send). A response `buffering` read whole goes the same way
//! from its spool (`send_compressed_spool`).

use std::rc::Rc;
use std::sync::Arc;

use super::downstream::{ClientSink, body_error};
use super::{ClientIo, Conn, Outcome, ReqState};
use crate::http::body::{Relay, RelayError};
use crate::http::codec::{BodyKind, RequestHead, ResponseHead, Version};
use crate::http::compressing::{self, Compressing};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::ResponseFraming;
use crate::http::spool::Spool;
use crate::middleware::HeaderOp;
use crate::middleware::compress::Encoding;
use crate::net::upstream::UpstreamConn;
use crate::runtime::io;

impl<S: ClientIo> Conn<S> {
    /// The encoding to send the response in, if its request chose one and
    /// its head qualifies (the body's size is checked apart).
    pub(super) fn compression_for(
        &self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &UpstreamConn,
    ) -> Option<(Arc<crate::middleware::compress::Compress>, Encoding)> {
        let (m, enc) = self.edits.compression().map(|(m, e)| (Arc::clone(m), *e))?;
        // An HTTP/1.0 client cannot take chunked framing: left as it is.
        let ok = head.version == Version::Http11
            && !head.is_head
            && compressing::qualifies(&m, resp, &self.resp_headers, &up.buf);
        ok.then_some((m, enc))
    }

    /// Sends the response compressed, if its request chose an encoding and it
    /// qualifies; `None` leaves it to the plain path.
    pub(super) async fn try_compressed(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
    ) -> Option<Result<Outcome, ProxyError>> {
        let (m, enc) = self.compression_for(head, resp, up)?;
        if !compressing::big_enough(&m, resp, up).await {
            return None;
        }
        Some(self.send_compressed(head, resp, up, from, enc).await)
    }

    /// Writes the head of a compressed response (chunked, without a length)
    /// into `self.out` and consumes it from `up.buf`; whether the connection
    /// closes after it. The head is sent now unless `with_body`: then it
    /// waits in `self.out` to go out with the first compressed piece (a body
    /// already here), saving a send per response.
    async fn write_compressed_head(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        (enc, with_body): (Encoding, bool),
    ) -> Result<bool, ProxyError> {
        let close = head.close || self.w.shutdown.is_fired() || self.req != ReqState::Consumed;
        // The length is unknown now: Content-Length goes, chunked framing comes.
        let mut framed = resp.clone();
        framed.drop_content_length = true;
        compressing::edit_fields(&mut self.edits, enc);
        self.edits
            .response_header(HeaderOp::Set, b"Transfer-Encoding", b"chunked");
        let framing = ResponseFraming {
            dechunk: true,
            close,
            keep_alive_10: false,
        };
        self.out.clear();
        crate::http::forward::write_response_head(
            &mut self.out,
            &up.buf,
            &framed,
            &self.resp_headers,
            &framing,
            Some(&self.edits),
        );
        io::consume(&mut up.buf, resp.head_len);
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (resp.status, resp.status);
        if with_body {
            return Ok(close);
        }
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
        // Sent: what `self.out` holds now would go out again before the body.
        self.out.clear();
        Ok(close)
    }

    async fn send_compressed(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        enc: Encoding,
    ) -> Result<Outcome, ProxyError> {
        let w = Rc::clone(&self.w);
        let encoder = w
            .encoders
            .take(enc)
            .map_err(|_| ProxyError::Internal("compressor"))?;
        // Body bytes read with the head go out with it; a streamed body's
        // head goes at once, as its first piece may take a while.
        let with_body = up.buf.len() > resp.head_len;
        let close = self
            .write_compressed_head(head, resp, up, (enc, with_body))
            .await?;
        let relay = Relay {
            kind: resp.body,
            dechunk: true,
            read_timeout: from.read_timeout,
            write_timeout: self.ep.cfg.write_timeout,
        };
        // Chunks are framed in the head's buffer (after the head, if it waits).
        let mut out = std::mem::take(&mut self.out);
        let mut sink = Compressing::new(ClientSink(&mut self.io), encoder, true, &mut out);
        let relayed = relay.run(&mut up.stream, &mut up.buf, &mut sink).await;
        let ended = match relayed {
            Ok(_) => sink.finish(relay.write_timeout).await,
            Err(e) => Err(e),
        };
        self.rec.resp_bytes = sink.sent;
        drop(sink);
        out.clear();
        self.out = out;
        ended.map_err(|e| body_error(e, &mut self.rec, from))?;
        Ok(if close {
            Outcome::Close
        } else {
            Outcome::KeepAlive
        })
    }

    /// Sends a response `buffering` read whole into `spool`, compressed;
    /// `Ok(None)` when it does not qualify (too small), leaving it as it is.
    pub(super) async fn send_compressed_spool(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        spool: &mut Spool,
    ) -> Result<Option<Outcome>, ProxyError> {
        let Some((m, enc)) = self.compression_for(head, resp, up) else {
            return Ok(None);
        };
        if spool.len() < m.min_size {
            return Ok(None);
        }
        let w = Rc::clone(&self.w);
        let encoder = w
            .encoders
            .take(enc)
            .map_err(|_| ProxyError::Internal("compressor"))?;
        // The body is read: the upstream's framing no longer applies.
        let mut whole = resp.clone();
        whole.body = BodyKind::Length(spool.len());
        let close = self
            .write_compressed_head(head, &whole, up, (enc, true))
            .await?;
        let mut out = std::mem::take(&mut self.out);
        let mut sink = Compressing::new(ClientSink(&mut self.io), encoder, true, &mut out);
        let timeout = self.ep.cfg.write_timeout;
        let mut scratch = Vec::new();
        let sent = match spool.replay(&mut sink, &mut scratch, timeout).await {
            Ok(_) => sink.finish(timeout).await,
            Err(e) => Err(e),
        };
        self.rec.resp_bytes = sink.sent;
        drop(sink);
        out.clear();
        self.out = out;
        sent.map_err(|e| match e {
            RelayError::Read(e) => {
                log::error!(
                    "buffering: cannot read a response body back from its temporary file: {e:?}"
                );
                ProxyError::ClientClosed
            }
            _ => ProxyError::ClientClosed,
        })?;
        Ok(Some(if close {
            Outcome::Close
        } else {
            Outcome::KeepAlive
        }))
    }
}
