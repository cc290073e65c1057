//! The request body of an HTTP/2 stream: the relay of its DATA frames to
//! the upstream or to `buffering`'s spool (`read_body`), a body forwardAuth
//! read whole first (`taken`), the drain of what follows a body past the
//! limit, and chunk framing.

use std::future::poll_fn;
use std::time::{Duration, Instant};

use h2::RecvStream;

use super::stream::Stream;
use crate::http::body::{RelayError, Sink};
use crate::http::codec::{BodyKind, RequestHead};
use crate::http::server::ReqState;
use crate::runtime::io as rio;

/// How long the rest of a body past the limit is read before the 413 ([`drain`]).
pub const DEFAULT_DRAIN_TIME: Duration = Duration::from_secs(1);

impl Stream {
    /// Moves the client's DATA frames to `dst` (chunk-framed when
    /// `chunked`), each released to the client only once `dst` took it,
    /// within the entry point's and `buffering`'s limits.
    pub(super) async fn read_body<W: Sink>(
        &mut self,
        mut body: RecvStream,
        chunked: bool,
        dst: &mut W,
        write_timeout: Option<Duration>,
    ) -> Result<u64, RelayError> {
        let read_timeout = self.c.ep.cfg.read_timeout;
        let mut buf = std::mem::take(&mut self.scratch);
        let mut sent = 0u64;
        // A `buffering` middleware's limit holds too (its spool is a `dst`).
        let ep = self.c.ep.cfg.max_request_body_bytes;
        let limit = match self.edits.buffering() {
            Some(b) => crate::http::buffered::request_limit(b, ep),
            None => ep,
        };
        loop {
            let deadline = read_timeout.map(|d| Instant::now() + d);
            let next = rio::until(deadline, poll_fn(|cx| body.poll_data(cx)));
            let data = match rio::watched(next, || dst.watch()).await {
                None => return Err(RelayError::Stopped),
                Some(Err(e)) => return Err(RelayError::Read(e)),
                Some(Ok(None)) => break,
                Some(Ok(Some(Ok(d)))) => d,
                // The client reset the stream, or the connection ended.
                Some(Ok(Some(Err(_)))) => return Err(RelayError::Eof),
            };
            if data.is_empty() {
                continue;
            }
            // The entry point's `transport.maxRequestBodyBytes`, counted on
            // the DATA frames' payload (a declared length over it was
            // refused before routing).
            if limit.is_some_and(|max| sent + data.len() as u64 > max) {
                drain(&mut body).await;
                return Err(RelayError::TooLarge);
            }
            buf.clear();
            if chunked {
                chunk_size_line(&mut buf, data.len());
            }
            buf.extend_from_slice(&data);
            if chunked {
                buf.extend_from_slice(b"\r\n");
            }
            let len = buf.len();
            dst.write(&mut buf, len, write_timeout.map(|d| Instant::now() + d))
                .await?;
            // Only now may the client send more: the window bounds what waits here.
            let _ = body.flow_control().release_capacity(data.len());
            sent += data.len() as u64;
        }
        if chunked {
            // The last chunk, with the client's trailers (after the last DATA
            // frame they are there at once) as its trailer section.
            buf.clear();
            buf.extend_from_slice(b"0\r\n");
            if let Ok(Some(t)) = poll_fn(|cx| body.poll_trailers(cx)).await {
                super::trailers::write_h1(&mut buf, &t);
            }
            buf.extend_from_slice(b"\r\n");
            let len = buf.len();
            dst.write(&mut buf, len, write_timeout.map(|d| Instant::now() + d))
                .await?;
            self.rec.req_bytes += sent;
        }
        self.scratch = buf;
        self.req = ReqState::Consumed;
        Ok(sent)
    }

    /// The body forwardAuth read first (`taken`), or none: sent whole. It is
    /// kept, so a retry on a fresh connection sends it again.
    pub(super) async fn send_taken<W: Sink>(
        &mut self,
        head: &RequestHead,
        dst: &mut W,
        write_timeout: Option<Duration>,
    ) -> Result<u64, RelayError> {
        let Some(data) = &self.taken else {
            self.req = ReqState::Consumed;
            return Ok(0);
        };
        let chunked = head.body == BodyKind::Chunked;
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        if chunked && !data.is_empty() {
            chunk_size_line(&mut buf, data.len());
        }
        buf.extend_from_slice(data);
        if chunked {
            if !data.is_empty() {
                buf.extend_from_slice(b"\r\n");
            }
            buf.extend_from_slice(b"0\r\n\r\n");
        }
        let n = data.len() as u64;
        self.req = ReqState::Broken;
        let len = buf.len();
        let written = dst
            .write(&mut buf, len, write_timeout.map(|d| Instant::now() + d))
            .await;
        self.scratch = buf;
        written?;
        if chunked {
            self.rec.req_bytes += n;
        }
        self.req = ReqState::Consumed;
        Ok(n)
    }
}

/// A body past the limit: what the client is still sending is read and
/// dropped for a moment (at most a stream window's worth, for
/// [`DEFAULT_DRAIN_TIME`]), so that when the rest is short the 413 comes after
/// the client's END_STREAM, to a client that only reads by then. curl (7.88)
/// sometimes lost an answer that came as its upload was ending ("Empty reply
/// from server"). A client still sending after that gets the 413, then
/// RST_STREAM(NO_ERROR).
pub(super) async fn drain(body: &mut RecvStream) {
    let deadline = Some(Instant::now() + DEFAULT_DRAIN_TIME);
    let mut left = super::DEFAULT_STREAM_WINDOW as usize;
    while left > 0 && !body.is_end_stream() {
        match rio::until(deadline, poll_fn(|cx| body.poll_data(cx))).await {
            Ok(Some(Ok(d))) => {
                left = left.saturating_sub(d.len());
                let _ = body.flow_control().release_capacity(d.len());
            }
            _ => return,
        }
    }
}

/// `<size in hex>\r\n`, the start of one chunk, without a formatter.
pub(super) fn chunk_size_line(buf: &mut Vec<u8>, n: usize) {
    let digits = (usize::BITS - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        buf.push(b"0123456789abcdef"[(n >> (i * 4)) & 0xf]);
    }
    buf.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_size_lines_are_lowercase_hex() {
        for (n, want) in [
            (0, "0\r\n"),
            (15, "f\r\n"),
            (16, "10\r\n"),
            (16384, "4000\r\n"),
        ] {
            let mut buf = Vec::new();
            super::chunk_size_line(&mut buf, n);
            assert_eq!(buf, want.as_bytes());
        }
    }
}
