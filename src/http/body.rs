//! Streams one message body from a source to a destination without buffering it:
//! Content-Length, chunked (passed through unchanged, or de-chunked for HTTP/1.0
//! clients) and read-until-close bodies all flow through the source's read buffer.
//! While it waits, the relay watches its destination ([`Sink::watch`]): a client
//! that left, or an upstream that answered before taking the whole request, ends
//! it at once instead of when a timeout runs out.

use std::future::Future;
use std::ops::Range;
use std::time::{Duration, Instant};

use monoio::io::AsyncReadRent;

use crate::http::codec::{BodyKind, ChunkError, ChunkedDecoder};
use crate::runtime::io::{self, IoFail};

/// Bodies stream through at most this much buffer per connection.
pub const BODY_BUF_SIZE: usize = 64 * 1024;

/// Which side failed: the caller maps a read failure to the source's fault and a
/// write failure to the destination's.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("source: {0}")]
    Read(IoFail),
    #[error("source closed before the end of the body")]
    Eof,
    #[error("destination: {0}")]
    Write(IoFail),
    #[error(transparent)]
    Invalid(ChunkError),
    /// The destination's watch fired: it has gone, or has something to say.
    #[error("stopped: the destination has gone or answered")]
    Stopped,
    /// The body went past the entry point's `maxRequestBodyBytes`.
    #[error("body larger than allowed")]
    TooLarge,
}

/// Where a relayed body goes, and what to watch there while the relay waits.
pub trait Sink {
    /// Writes `buf[..len]` by `deadline`, keeping the buffer (left empty when the
    /// write is abandoned, as with a timeout).
    fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<(), RelayError>>;

    /// [`Sink::write`] of the body's last bytes. A sink that ends its own
    /// output (a compressor's trailer) can send that in the same write.
    fn write_last(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<(), RelayError>> {
        self.write(buf, len, deadline)
    }

    /// Resolves when relaying should stop while the source is slow.
    fn watch(&self) -> impl Future<Output = ()>;
}

/// [`Sink::write`], or [`Sink::write_last`] for the body's `last` piece.
pub async fn write_piece<W: Sink>(
    dst: &mut W,
    buf: &mut Vec<u8>,
    len: usize,
    deadline: Option<Instant>,
    last: bool,
) -> Result<(), RelayError> {
    if last {
        dst.write_last(buf, len, deadline).await
    } else {
        dst.write(buf, len, deadline).await
    }
}

pub struct Relay {
    pub kind: BodyKind,
    /// Strip the chunked framing (for HTTP/1.0 clients).
    pub dechunk: bool,
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
}

impl Relay {
    /// Moves the body from `src` to `dst`. `buf` holds bytes already read from `src`
    /// starting at the body; on success it holds whatever followed the body. Returns
    /// the bytes written to `dst` (for metrics and the access log).
    pub async fn run<R: AsyncReadRent, W: Sink>(
        &self,
        src: &mut R,
        buf: &mut Vec<u8>,
        dst: &mut W,
    ) -> Result<u64, RelayError> {
        self.run_keeping(src, buf, dst, None).await
    }

    /// [`Relay::run`], keeping a chunked body's trailer field lines in
    /// `trailers` (an HTTP/2 client gets them as trailers).
    pub async fn run_keeping_trailers<R: AsyncReadRent, W: Sink>(
        &self,
        src: &mut R,
        buf: &mut Vec<u8>,
        dst: &mut W,
        trailers: &mut Vec<u8>,
    ) -> Result<u64, RelayError> {
        self.run_keeping(src, buf, dst, Some(trailers)).await
    }

    async fn run_keeping<R: AsyncReadRent, W: Sink>(
        &self,
        src: &mut R,
        buf: &mut Vec<u8>,
        dst: &mut W,
        mut trailers: Option<&mut Vec<u8>>,
    ) -> Result<u64, RelayError> {
        let mut sent = 0u64;
        let mut remaining = match self.kind {
            BodyKind::None | BodyKind::Length(0) => return Ok(0),
            BodyKind::Length(n) => n,
            BodyKind::Chunked | BodyKind::UntilClose => u64::MAX,
        };
        let mut decoder = ChunkedDecoder::new();
        if trailers.is_some() {
            decoder.keep_trailers();
        }
        let mut ranges: Vec<Range<usize>> = Vec::new();
        loop {
            if !buf.is_empty() {
                let (taken, send, done) = match self.kind {
                    BodyKind::Length(_) => {
                        let t = (buf.len() as u64).min(remaining) as usize;
                        remaining -= t as u64;
                        (t, t, remaining == 0)
                    }
                    BodyKind::Chunked => self.chunked_step(&mut decoder, buf, &mut ranges)?,
                    _ => (buf.len(), buf.len(), false),
                };
                write_piece(dst, buf, send, self.write_deadline(), done).await?;
                sent += send as u64;
                io::consume(buf, taken);
                if done {
                    if let Some(t) = trailers.as_deref_mut() {
                        *t = decoder.take_trailers();
                    }
                    return Ok(sent);
                }
            }
            io::reserve_up_to(buf, BODY_BUF_SIZE, BODY_BUF_SIZE);
            let limit = usize::try_from(remaining).unwrap_or(usize::MAX);
            // The read timeout is the longest silence between two reads.
            let deadline = self.read_timeout.map(|t| Instant::now() + t);
            let read = io::read_some(src, buf, limit, deadline);
            match io::watched(read, || dst.watch()).await {
                None => return Err(RelayError::Stopped),
                Some(Ok(0)) if self.kind == BodyKind::UntilClose => return Ok(sent),
                Some(Ok(0)) => return Err(RelayError::Eof),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(RelayError::Read(e)),
            }
        }
    }

    /// Feeds the buffered bytes to the decoder. Returns (bytes consumed, bytes to send
    /// from the front of `buf`, body done). When de-chunking, payload ranges are
    /// moved to the front of `buf` first.
    fn chunked_step(
        &self,
        decoder: &mut ChunkedDecoder,
        buf: &mut [u8],
        ranges: &mut Vec<Range<usize>>,
    ) -> Result<(usize, usize, bool), RelayError> {
        ranges.clear();
        let dechunk = self.dechunk;
        let progress = decoder
            .feed(buf, &mut |r| {
                if dechunk {
                    ranges.push(r)
                }
            })
            .map_err(RelayError::Invalid)?;
        if !dechunk {
            return Ok((progress.consumed, progress.consumed, progress.done));
        }
        // Payload ranges are ordered and never before their destination, so moving
        // them down in order never overwrites bytes still to be moved.
        let mut out = 0;
        for r in ranges.iter() {
            buf.copy_within(r.clone(), out);
            out += r.len();
        }
        Ok((progress.consumed, out, progress.done))
    }

    fn write_deadline(&self) -> Option<Instant> {
        self.write_timeout.map(|t| Instant::now() + t)
    }
}
