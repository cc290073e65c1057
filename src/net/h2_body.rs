//! The body of a response that came from an upstream over HTTP/2 (`h2c://`,
//! or an `https://` server that agreed `h2`), read as the HTTP/1.1 body bytes
//! the response relay already handles: DATA payload as it is when the
//! response declared its length, else chunked framing whose trailer section
//! carries the upstream's trailers (an HTTP/1.1 client gets them there). The
//! trailers are also kept as fields ([`H2Body::take_trailers`]) for an HTTP/2
//! client, which gets them as a HEADERS frame of their own.
//!
//! Flow control: a DATA frame's bytes are released to the upstream once they
//! were handed out here, so what waits in proxyd is bounded by the stream's
//! window and the relay's buffer. An upstream RST_STREAM is a read error.

use std::future::poll_fn;
use std::io;
use std::os::fd::RawFd;

use bytes::Bytes;
use h2::RecvStream;
use http::HeaderMap;
use monoio::BufResult;
use monoio::buf::{IoBufMut, IoVecBufMut};

/// Where the rendering of the body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Done,
}

pub struct H2Body {
    recv: RecvStream,
    /// Render chunked framing (the response declared no length).
    chunked: bool,
    /// Rendered bytes not yet handed out, from `pos`.
    pending: Vec<u8>,
    pos: usize,
    state: State,
    trailers: Option<HeaderMap>,
    /// The response head as it came, for an HTTP/2 client that takes it
    /// unchanged ([`H2Body::take_head`]).
    head: Option<http::response::Parts>,
    /// The connection's socket (shared with the other streams): only for
    /// logs and the descriptor a caller may ask for.
    fd: RawFd,
}

impl H2Body {
    pub fn new(recv: RecvStream, chunked: bool, fd: RawFd, head: http::response::Parts) -> Self {
        Self {
            recv,
            chunked,
            pending: Vec::new(),
            pos: 0,
            state: State::Data,
            trailers: None,
            head: Some(head),
            fd,
        }
    }

    /// The response head as the upstream sent it (once).
    pub fn take_head(&mut self) -> Option<http::response::Parts> {
        self.head.take()
    }

    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// The upstream's trailers, once the body was read to its end.
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }

    /// The next DATA payload as it came, without HTTP/1.1 framing (for an
    /// HTTP/2 client, which gets it as DATA again, uncopied); `None` at the
    /// end of the body, its trailers then kept ([`H2Body::take_trailers`]).
    /// The caller releases the bytes' window once it passed them on
    /// ([`H2Body::release`]). Not to be mixed with [`H2Body::read`].
    pub async fn next_data(&mut self) -> io::Result<Option<Bytes>> {
        if self.state == State::Done {
            return Ok(None);
        }
        match poll_fn(|cx| self.recv.poll_data(cx)).await {
            Some(Ok(data)) => Ok(Some(data)),
            Some(Err(e)) => Err(h2_io_error(e)),
            None => {
                let trailers = poll_fn(|cx| self.recv.poll_trailers(cx)).await;
                self.trailers = trailers.map_err(h2_io_error)?;
                self.state = State::Done;
                Ok(None)
            }
        }
    }

    /// `n` bytes from [`H2Body::next_data`] were passed on: the upstream may
    /// send as much again.
    pub fn release(&mut self, n: usize) {
        let _ = self.recv.flow_control().release_capacity(n);
    }

    /// Renders the next piece into `pending`; `false` at the end of the body.
    async fn fill(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.pos = 0;
        if self.state == State::Done {
            return Ok(false);
        }
        match poll_fn(|cx| self.recv.poll_data(cx)).await {
            Some(Ok(data)) => {
                self.render_data(&data);
                // Handed on: the upstream may send as much again.
                let _ = self.recv.flow_control().release_capacity(data.len());
                Ok(true)
            }
            Some(Err(e)) => Err(h2_io_error(e)),
            None => {
                let trailers = poll_fn(|cx| self.recv.poll_trailers(cx)).await;
                let trailers = trailers.map_err(h2_io_error)?;
                self.state = State::Done;
                if self.chunked {
                    self.pending.extend_from_slice(b"0\r\n");
                    for (name, value) in trailers.iter().flatten() {
                        push_field(&mut self.pending, name.as_str(), value.as_bytes());
                    }
                    self.pending.extend_from_slice(b"\r\n");
                }
                self.trailers = trailers;
                Ok(!self.pending.is_empty())
            }
        }
    }

    fn render_data(&mut self, data: &Bytes) {
        if data.is_empty() {
            return;
        }
        if self.chunked {
            push_hex(&mut self.pending, data.len());
            self.pending.extend_from_slice(b"\r\n");
        }
        self.pending.extend_from_slice(data);
        if self.chunked {
            self.pending.extend_from_slice(b"\r\n");
        }
    }

    pub async fn read<T: IoBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        while self.pos >= self.pending.len() {
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return (Ok(0), buf),
                Err(e) => return (Err(e), buf),
            }
        }
        let n = (self.pending.len() - self.pos).min(buf.bytes_total());
        // SAFETY: `write_ptr` is valid for `bytes_total` bytes (IoBufMut's
        // contract) and `n` is at most that; the source is our own vector,
        // which cannot overlap a buffer the caller owns.
        unsafe {
            std::ptr::copy_nonoverlapping(self.pending.as_ptr().add(self.pos), buf.write_ptr(), n);
            buf.set_init(n);
        }
        self.pos += n;
        (Ok(n), buf)
    }

    pub async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        // Nothing reads a response body with vectored reads.
        (Err(io::ErrorKind::Unsupported.into()), buf)
    }
}

/// `name: value\r\n`, one trailer field of the chunked trailer section.
fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// `n` in lowercase hex (a chunk's size), without a formatter.
fn push_hex(out: &mut Vec<u8>, n: usize) {
    let digits = (usize::BITS - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(b"0123456789abcdef"[(n >> (i * 4)) & 0xf]);
    }
}

/// An HTTP/2 failure as an I/O error for the relay; an upstream's
/// RST_STREAM keeps its reason in the text.
pub fn h2_io_error(e: h2::Error) -> io::Error {
    if let Some(io) = e.get_io() {
        return io::Error::new(io.kind(), e.to_string());
    }
    io::Error::new(io::ErrorKind::ConnectionReset, e)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_sizes_and_fields() {
        let mut out = Vec::new();
        super::push_hex(&mut out, 255);
        super::push_hex(&mut out, 0);
        assert_eq!(out, b"ff0");
        out.clear();
        super::push_field(&mut out, "grpc-status", b"0");
        assert_eq!(out, b"grpc-status: 0\r\n");
    }
}
