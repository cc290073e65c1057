//! The response side of `grpcWeb`, shared by the HTTP/1.1 and HTTP/2
//! fronts (`server/grpc_web.rs`, `h2/grpc_web.rs`): the body streams as it
//! comes, each piece read from the upstream sent on at once (base64-encoded
//! and padded on its own in text mode, chunk-framed for an HTTP/1.1
//! client), so a server-streaming call is never held back; the upstream's
//! trailers then become the last frame of the body (`0x80`, length, fields).

use std::io::Write;
use std::time::Instant;

use http::HeaderMap;

use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{HeaderSpan, ParseError, ResponseHead};
use crate::http::error::ProxyError;
use crate::http::forward::{self, ResponseFraming};
use crate::middleware::Edits;
use crate::middleware::grpc_web::{Mode, codec};
use crate::net::upstream::UpstreamConn;

/// The response head for the client: forwarding writes it into `scratch`
/// (HTTP/1.1, with the middlewares' edits), then [`codec::rewrite_head`]
/// converts it.
pub fn head(
    scratch: &mut Vec<u8>,
    (up_buf, resp): (&[u8], &ResponseHead),
    fields: &[HeaderSpan],
    framing: &ResponseFraming,
    edits: &Edits,
    (mode, chunked): (Mode, bool),
) -> Result<Vec<u8>, ProxyError> {
    scratch.clear();
    forward::write_response_head(scratch, up_buf, resp, fields, framing, Some(edits));
    let mut out = Vec::with_capacity(scratch.len() + 160);
    codec::rewrite_head(scratch, mode, chunked, &mut out).ok_or(ProxyError::UpstreamInvalid(
        ParseError::Invalid("response head"),
    ))?;
    Ok(out)
}

/// Appends `data` as one piece of the client's body.
fn piece(mode: Mode, chunked: bool, data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    if !chunked {
        codec::encode_piece(mode, data, out);
        return;
    }
    // The encoded size is known, so the chunk's size line comes first.
    let size = match mode {
        Mode::Binary => data.len(),
        Mode::Text => data.len().div_ceil(3) * 4,
    };
    let _ = write!(out, "{size:x}\r\n");
    codec::encode_piece(mode, data, out);
    out.extend_from_slice(b"\r\n");
}

/// The end of the client's body: the trailer frame (if the upstream sent
/// trailers), then the last chunk when `chunked`.
fn end(mode: Mode, chunked: bool, trailers: Option<&HeaderMap>, out: &mut Vec<u8>) {
    if let Some(t) = trailers {
        let mut frame = Vec::new();
        let fields = t.iter().map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        codec::trailer_frame(fields, &mut frame);
        piece(mode, chunked, &frame, out);
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
}

/// Relays the upstream's body to `client` in gRPC-Web form, then returns
/// the bytes that end it (trailer frame, last chunk) for the caller to send
/// as its protocol ends a body; with the bytes already sent.
pub async fn relay<S: Sink>(
    relay: Relay,
    up: &mut UpstreamConn,
    client: &mut S,
    (mode, chunked): (Mode, bool),
    buf: Vec<u8>,
) -> (Result<u64, RelayError>, Vec<u8>) {
    let mut sink = WebSink {
        inner: client,
        mode,
        chunked,
        buf,
        sent: 0,
    };
    let relayed = relay.run(&mut up.stream, &mut up.buf, &mut sink).await;
    let (mut out, sent) = (std::mem::take(&mut sink.buf), sink.sent);
    out.clear();
    if relayed.is_ok() {
        let trailers = up.stream.h2().and_then(|b| b.take_trailers());
        end(mode, chunked, trailers.as_ref(), &mut out);
    }
    (relayed.map(|_| sent), out)
}

/// A client sink that sends each de-chunked piece of the upstream's body in
/// gRPC-Web form.
struct WebSink<'a, S> {
    inner: &'a mut S,
    mode: Mode,
    chunked: bool,
    buf: Vec<u8>,
    /// Bytes that went to the client (the access log's size).
    sent: u64,
}

impl<S: Sink> Sink for WebSink<'_, S> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.buf.clear();
        piece(self.mode, self.chunked, &buf[..len], &mut self.buf);
        let n = self.buf.len();
        self.sent += n as u64;
        self.inner.write(&mut self.buf, n, deadline).await
    }

    fn watch(&self) -> impl Future<Output = ()> {
        self.inner.watch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_chunked_and_text_is_padded_per_piece() {
        let mut out = Vec::new();
        piece(Mode::Text, true, b"ab", &mut out);
        piece(Mode::Text, true, b"c", &mut out);
        assert_eq!(out, b"4\r\nYWI=\r\n4\r\nYw==\r\n");
        out.clear();
        piece(Mode::Binary, false, b"abc", &mut out);
        assert_eq!(out, b"abc");
    }

    #[test]
    fn end_carries_the_trailers_as_a_frame_then_the_last_chunk() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", "0".parse().unwrap());
        t.insert("grpc-message", "".parse().unwrap());
        let mut out = Vec::new();
        end(Mode::Binary, true, Some(&t), &mut out);
        let frame = b"\x80\x00\x00\x00\x20grpc-message: \r\ngrpc-status: 0\r\n";
        let mut want = b"25\r\n".to_vec();
        want.extend_from_slice(frame);
        want.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(out, want);
        out.clear();
        end(Mode::Binary, false, None, &mut out);
        assert!(out.is_empty());
    }
}
