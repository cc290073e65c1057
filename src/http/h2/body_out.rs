//! A proxied response's body on its way to an HTTP/2 client, after its
//! HEADERS: an HTTP/2 upstream's DATA frames passed on as they came
//! (`send::relay_frames`), else the relay's HTTP/1.1 body bytes (an
//! HTTP/1.1 upstream's, or a compressed body) de-chunked into `H2Sink`;
//! then the upstream's trailers, or an empty DATA frame, end the stream.

use std::cell::RefCell;

use bytes::Bytes;

use super::send::{H2Sink, relay_frames};
use super::stream::Stream;
use crate::http::body::{Relay, RelayError};
use crate::http::codec::{BodyKind, ResponseHead};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::middleware::compress::Encoding;
use crate::net::upstream::UpstreamConn;
use crate::observe::Record;
use crate::runtime::io::IoFail;

impl Stream {
    /// Sends the body of `resp` (not empty) from `up`, `encoding` applied.
    pub(super) async fn relay_body(
        &mut self,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        encoding: Option<Encoding>,
    ) -> Result<(), ProxyError> {
        let send = self.send.as_mut().ok_or(ProxyError::ClientClosed)?;
        let frames = encoding.is_none() && up.buf.is_empty();
        let trailers = if let (true, Some(body)) = (frames, up.stream.h2()) {
            // HTTP/2 to HTTP/2: the DATA frames go on as they came.
            let limit = match resp.body {
                BodyKind::Length(n) => Some(n),
                _ => None,
            };
            let timeouts = (from.read_timeout, self.c.window_timeout());
            let sent = relay_frames(body, send, limit, timeouts).await;
            self.rec.resp_bytes += sent.map_err(|e| body_error(e, &mut self.rec, from))?;
            body.take_trailers()
        } else {
            let relay = Relay {
                kind: resp.body,
                dechunk: true,
                read_timeout: from.read_timeout,
                write_timeout: Some(self.c.window_timeout()),
            };
            let mut sink = H2Sink(RefCell::new(&mut *send));
            // An HTTP/1.1 upstream's chunked trailer section is kept (no
            // allocation unless there is one); an HTTP/2 upstream's trailers
            // are kept as fields already and come first below.
            let mut kept = Vec::new();
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
                None => {
                    let (src, buf) = (&mut up.stream, &mut up.buf);
                    relay
                        .run_keeping_trailers(src, buf, &mut sink, &mut kept)
                        .await
                }
            };
            self.rec.resp_bytes += sent.map_err(|e| body_error(e, &mut self.rec, from))?;
            let trailers = up.stream.h2().and_then(|b| b.take_trailers());
            trailers.or_else(|| super::trailers::from_h1(&kept))
        };
        // The upstream's trailers (gRPC's status) end the stream: an HTTP/2
        // upstream's as they came, an HTTP/1.1 one's from its chunked body.
        match trailers {
            Some(trailers) => send.send_trailers(trailers),
            None => send.send_data(Bytes::new(), true),
        }
        .map_err(|_| ProxyError::ClientClosed)
    }
}

/// A failure while the response body streams: the status is out, so the
/// stream is reset.
pub(super) fn body_error(e: RelayError, rec: &mut Record, from: Source) -> ProxyError {
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
