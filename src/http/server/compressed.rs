//! The `compress` middleware's response side on HTTP/1.1: the seam is
//! `Downstream::send_response`, which hands a response whose request chose an
//! encoding here first. When the response qualifies (`Compress::response_allows`
//! and at least `minResponseBodyBytes` of body), its head goes out without
//! Content-Length (and Accept-Ranges), with `Content-Encoding` and chunked
//! framing, and the body streams through the encoder: `Relay` de-chunks what
//! the upstream sends, each piece read is compressed, flushed and sent as one
//! chunk, so a streamed response reaches the client as it comes.
//!
//! A body of unknown length (chunked or until close) is read ahead until
//! `minResponseBodyBytes` arrived, it ended, or the upstream paused for
//! [`FLUSH_INTERVAL`] (Traefik's default `flushInterval`: there its flush
//! starts the compression of a small streamed body). Memory stays bounded by
//! that minimum, the upstream buffer and the encoder's window.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::downstream::{ClientSink, body_error};
use super::{ClientIo, Conn, Outcome, ReqState};
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{BodyKind, ChunkedDecoder, RequestHead, ResponseHead, Version};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::ResponseFraming;
use crate::middleware::HeaderOp;
use crate::middleware::compress::{Compress, Encoder, Encoding};
use crate::net::peer::{self, Peek};
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::{self, IoFail};

/// How long a small streamed body is waited for before compressing anyway.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// How often the read-ahead looks for more of the body meanwhile.
const PEEK_EVERY: Duration = Duration::from_millis(10);

impl<S: ClientIo> Conn<S> {
    /// Sends the response compressed, if its request chose an encoding and it
    /// qualifies; `None` leaves it to the plain path.
    pub(super) async fn try_compressed(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
    ) -> Option<Result<Outcome, ProxyError>> {
        let (m, enc) = self.edits.compression().map(|(m, e)| (Arc::clone(m), *e))?;
        // An HTTP/1.0 client cannot take chunked framing: left as it is.
        if head.version != Version::Http11 || head.is_head || !self.qualifies(&m, resp, up) {
            return None;
        }
        let big = match resp.body {
            BodyKind::None => false,
            BodyKind::Length(n) => n >= m.min_size,
            BodyKind::Chunked | BodyKind::UntilClose => read_ahead(resp, up, m.min_size).await,
        };
        if !big {
            return None;
        }
        Some(self.send_compressed(head, resp, up, from, enc).await)
    }

    fn qualifies(&self, m: &Compress, resp: &ResponseHead, up: &UpstreamConn) -> bool {
        let mut ct = None;
        let (mut encoded, mut range) = (false, false);
        for h in &self.resp_headers {
            let name = h.name.get(&up.buf);
            if name.eq_ignore_ascii_case(b"content-type") && ct.is_none() {
                ct = Some(h.value.get(&up.buf));
            }
            // Go's `Header.Get(...) != ""`: an empty value is no encoding.
            encoded |=
                name.eq_ignore_ascii_case(b"content-encoding") && !h.value.get(&up.buf).is_empty();
            range |= name.eq_ignore_ascii_case(b"content-range");
        }
        m.response_allows(resp.status, ct, encoded, range)
    }

    async fn send_compressed(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        enc: Encoding,
    ) -> Result<Outcome, ProxyError> {
        let encoder = Encoder::new(enc).map_err(|_| ProxyError::Internal("compressor"))?;
        let close = head.close || self.w.shutdown.is_fired() || self.req != ReqState::Consumed;
        // The length is unknown now: Content-Length goes, chunked framing comes.
        let mut framed = resp.clone();
        framed.drop_content_length = true;
        self.edits
            .response_header(HeaderOp::Set, b"Content-Encoding", enc.token().as_bytes());
        self.edits
            .response_header(HeaderOp::Remove, b"Accept-Ranges", b"");
        self.edits
            .response_header(HeaderOp::Remove, b"Trailer", b"");
        if resp.body != BodyKind::Chunked {
            self.edits
                .response_header(HeaderOp::Set, b"Transfer-Encoding", b"chunked");
        }
        let framing = ResponseFraming {
            dechunk: false,
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
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
        let relay = Relay {
            kind: resp.body,
            dechunk: true,
            read_timeout: from.read_timeout,
            write_timeout: self.ep.cfg.write_timeout,
        };
        // The head's buffer is free once the head went out: chunks are framed in it.
        let mut out = std::mem::take(&mut self.out);
        let mut sink = Compressing {
            client: ClientSink(&mut self.io),
            encoder: Some(encoder),
            out: &mut out,
            sent: 0,
        };
        let relayed = relay.run(&mut up.stream, &mut up.buf, &mut sink).await;
        let ended = match relayed {
            Ok(_) => sink.finish(relay.write_timeout).await,
            Err(e) => Err(e),
        };
        self.rec.resp_bytes = sink.sent;
        out.clear();
        self.out = out;
        ended.map_err(|e| body_error(e, &mut self.rec, from))?;
        Ok(if close {
            Outcome::Close
        } else {
            Outcome::KeepAlive
        })
    }
}

/// Reads ahead a body of unknown length: `true` once `min` payload bytes are
/// here, or the upstream paused for [`FLUSH_INTERVAL`]; `false` when the body
/// ended shorter (or turned out broken: the relay reports that).
async fn read_ahead(resp: &ResponseHead, up: &mut UpstreamConn, min: u64) -> bool {
    let until = Instant::now() + FLUSH_INTERVAL;
    loop {
        let body = &up.buf[resp.head_len..];
        let (payload, done) = match resp.body {
            BodyKind::Chunked => {
                let mut n = 0u64;
                match ChunkedDecoder::new().feed(body, &mut |r| n += r.len() as u64) {
                    Ok(p) => (n, p.done),
                    Err(_) => return false,
                }
            }
            _ => (body.len() as u64, false),
        };
        if payload >= min {
            return true;
        }
        if done {
            return false;
        }
        // An HTTP/2 stream shares its socket: a peek cannot tell whether its
        // own bytes are coming, so what is here is compressed as it is.
        if up.stream.h2().is_some() || !arrives_by(up.stream.as_raw_fd(), until).await {
            return true;
        }
        let cap = resp.head_len + min as usize + 4096;
        if !io::reserve_up_to(&mut up.buf, 4096, cap) {
            return true;
        }
        // Bytes (or the end) are there: this read does not wait, so it needs
        // no deadline (a read dropped on a deadline would lose the buffer,
        // head included).
        match io::read_some(&mut up.stream, &mut up.buf, usize::MAX, None).await {
            Ok(n) if n > 0 => {}
            // The end (or an error): a short body until close, or a broken
            // one the relay will report.
            _ => return false,
        }
    }
}

/// Whether the upstream sends something (or ends) before `until`: a peek on
/// each tick of the worker's clock, as a readiness wait (monoio may report
/// a socket ready that an earlier read left readable) could not tell.
async fn arrives_by(fd: RawFd, until: Instant) -> bool {
    loop {
        if peer::peek(fd) != Peek::Quiet {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        crate::runtime::clock::deadline(until.min(now + PEEK_EVERY)).await;
    }
}

/// The client as the destination of a compressed body: each piece the relay
/// hands over is compressed, flushed and written as one chunk.
struct Compressing<'a, 'b, S> {
    client: ClientSink<'a, S>,
    /// `None` once finished.
    encoder: Option<Encoder>,
    out: &'b mut Vec<u8>,
    /// Bytes written to the client (compressed, with chunk framing).
    sent: u64,
}

impl<S: ClientIo> Compressing<'_, '_, S> {
    /// Frames `data` as one chunk in `out` (nothing for no data).
    fn frame(out: &mut Vec<u8>, data: &[u8]) {
        if !data.is_empty() {
            let _ = write!(out, "{:x}\r\n", data.len());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    }

    async fn send(&mut self, deadline: Option<Instant>) -> Result<(), RelayError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let len = self.out.len();
        self.client.write(self.out, len, deadline).await?;
        self.sent += len as u64;
        self.out.clear();
        Ok(())
    }

    /// The encoder's last bytes and the last chunk.
    async fn finish(&mut self, write_timeout: Option<Duration>) -> Result<(), RelayError> {
        let rest = match self.encoder.take() {
            Some(e) => e.finish().map_err(|e| RelayError::Write(IoFail::Io(e)))?,
            None => Vec::new(),
        };
        self.out.clear();
        Self::frame(self.out, &rest);
        self.out.extend_from_slice(b"0\r\n\r\n");
        self.send(write_timeout.map(|t| Instant::now() + t)).await
    }
}

impl<S: ClientIo> Sink for Compressing<'_, '_, S> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Ok(());
        };
        encoder
            .push(&buf[..len])
            .map_err(|e| RelayError::Write(IoFail::Io(e)))?;
        self.out.clear();
        Self::frame(self.out, encoder.output());
        encoder.output().clear();
        self.send(deadline).await
    }

    fn watch(&self) -> impl std::future::Future<Output = ()> {
        self.client.watch()
    }
}
