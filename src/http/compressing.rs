//! The `compress` middleware's response side, for either client protocol:
//! whether a response qualifies ([`qualifies`], from its head and fields, and
//! [`big_enough`], reading ahead a body of unknown length), the response
//! field edits, and [`Compressing`], a [`Sink`] that compresses each piece
//! the relay hands over, flushes it and passes the output on to the client's
//! sink: as one HTTP/1.1 chunk each, or as it is for HTTP/2's DATA frames.
//!
//! A body of unknown length (chunked or until close) is read ahead until
//! `minResponseBodyBytes` arrived, it ended, or the upstream paused for
//! [`FLUSH_INTERVAL`] (Traefik's default `flushInterval`: there its flush
//! starts the compression of a small streamed body). Memory stays bounded by
//! that minimum, the upstream buffer and the encoder's window.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::http::body::{RelayError, Sink};
use crate::http::codec::{BodyKind, ChunkedDecoder, HeaderSpan, ResponseHead};
use crate::middleware::compress::{Compress, Encoding, Pooled};
use crate::middleware::{Edits, HeaderOp};
use crate::net::peer::{self, Peek};
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::{self, IoFail};

/// How long a small streamed body is waited for before compressing anyway.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// How often the read-ahead looks for more of the body meanwhile.
const PEEK_EVERY: Duration = Duration::from_millis(10);

/// Whether the response's head allows compressing it (`Compress::response_allows`
/// over its fields in `buf`).
pub fn qualifies(m: &Compress, resp: &ResponseHead, fields: &[HeaderSpan], buf: &[u8]) -> bool {
    let mut ct = None;
    let (mut encoded, mut range) = (false, false);
    for h in fields {
        let name = h.name.get(buf);
        if name.eq_ignore_ascii_case(b"content-type") && ct.is_none() {
            ct = Some(h.value.get(buf));
        }
        // Go's `Header.Get(...) != ""`: an empty value is no encoding.
        encoded |= name.eq_ignore_ascii_case(b"content-encoding") && !h.value.get(buf).is_empty();
        range |= name.eq_ignore_ascii_case(b"content-range");
    }
    m.response_allows(resp.status, ct, encoded, range)
}

/// Whether the body reaches `minResponseBodyBytes` (read ahead when its
/// length is unknown).
pub async fn big_enough(m: &Compress, resp: &ResponseHead, up: &mut UpstreamConn) -> bool {
    match resp.body {
        BodyKind::None => false,
        BodyKind::Length(n) => n >= m.min_size,
        BodyKind::Chunked | BodyKind::UntilClose => read_ahead(resp, up, m.min_size).await,
    }
}

/// The response field edits of a compressed body: its encoding, and no
/// ranges or trailers (the length goes with the response's own framing).
pub fn edit_fields(edits: &mut Edits, enc: Encoding) {
    edits.response_header(HeaderOp::Set, b"Content-Encoding", enc.token().as_bytes());
    edits.response_header(HeaderOp::Remove, b"Accept-Ranges", b"");
    edits.response_header(HeaderOp::Remove, b"Trailer", b"");
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

/// The client as the destination of a compressed body: each piece is
/// compressed, flushed and written on to `dst` at once; the last piece ends
/// the stream in the same write, and a head waiting in `out` goes with the
/// first. A 16 KiB body read whole thus leaves in one send, as nginx's does
/// (a send apiece for head, body and trailer cost more than the compression
/// saved in CPU per request).
pub struct Compressing<'p, 'o, D> {
    dst: D,
    /// `None` once the stream ended ([`Sink::write_last`] or
    /// [`Compressing::finish`]): the encoder goes back to the worker's
    /// pool before the last send, so the next response takes it while its
    /// tables are still in cache (held over the send, each response in flight
    /// kept its own: at 50 connections, dozens of 300 KiB states, cold by
    /// the time they were reset).
    encoder: Option<Pooled<'p>>,
    /// Frame each output as an HTTP/1.1 chunk (and end with the last chunk).
    chunked: bool,
    /// The output as written to `dst`.
    out: &'o mut Vec<u8>,
    /// Bytes at the front of `out` that are the response head, not body.
    head: usize,
    /// Bytes written to `dst` (compressed, with any chunk framing).
    pub sent: u64,
}

impl<'p, 'o, D: Sink> Compressing<'p, 'o, D> {
    /// A sink whose first write also sends what `out` holds now (a response
    /// head, not counted in `sent`).
    pub fn new(dst: D, encoder: Pooled<'p>, chunked: bool, out: &'o mut Vec<u8>) -> Self {
        Compressing {
            dst,
            encoder: Some(encoder),
            chunked,
            head: out.len(),
            out,
            sent: 0,
        }
    }

    /// Appends the encoder's output to `out`, framed (nothing for no data).
    fn take_output(&mut self) {
        let Some(encoder) = self.encoder.as_mut() else {
            return;
        };
        let data = encoder.output();
        if data.is_empty() {
            return;
        }
        if self.chunked {
            let _ = write!(self.out, "{:x}\r\n", data.len());
            self.out.extend_from_slice(data);
            self.out.extend_from_slice(b"\r\n");
        } else if self.out.is_empty() {
            std::mem::swap(self.out, data);
        } else {
            self.out.extend_from_slice(data);
        }
        data.clear();
    }

    async fn send(&mut self, deadline: Option<Instant>) -> Result<(), RelayError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let len = self.out.len();
        self.dst.write(self.out, len, deadline).await?;
        self.sent += (len - self.head) as u64;
        self.head = 0;
        self.out.clear();
        Ok(())
    }

    /// The encoder, while the stream goes on.
    fn encoder(&mut self) -> Result<&mut Pooled<'p>, RelayError> {
        self.encoder
            .as_mut()
            .ok_or_else(|| encode_error(std::io::ErrorKind::BrokenPipe.into()))
    }

    /// Ends the stream with `data`: the encoder's last bytes (and the last chunk).
    fn end(&mut self, data: &[u8]) -> Result<(), RelayError> {
        self.encoder()?.end(data).map_err(encode_error)?;
        self.take_output();
        self.encoder = None;
        if self.chunked {
            self.out.extend_from_slice(b"0\r\n\r\n");
        }
        Ok(())
    }

    /// Ends the stream if the last piece did not, and sends what is left.
    pub async fn finish(&mut self, write_timeout: Option<Duration>) -> Result<(), RelayError> {
        if self.encoder.is_some() {
            self.end(&[])?;
        }
        self.send(write_timeout.map(|t| Instant::now() + t)).await
    }
}

fn encode_error(e: std::io::Error) -> RelayError {
    RelayError::Write(IoFail::Io(e))
}

impl<D: Sink> Sink for Compressing<'_, '_, D> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.encoder()?.push(&buf[..len]).map_err(encode_error)?;
        self.take_output();
        self.send(deadline).await
    }

    async fn write_last(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.end(&buf[..len])?;
        self.send(deadline).await
    }

    fn watch(&self) -> impl std::future::Future<Output = ()> {
        self.dst.watch()
    }
}

#[cfg(test)]
#[path = "compressing_tests.rs"]
mod tests;
