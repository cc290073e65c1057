//! The byte streams an HTTP/2 connection runs over, in the poll style the `h2`
//! crate drives (tokio's `AsyncRead`/`AsyncWrite` traits, no tokio runtime):
//! monoio's poll-io socket (`TcpStream::try_into_poll_io`, readiness on the
//! worker's own ring or epoll) with the peeked bytes replayed first ([`Rewind`]),
//! or with rustls on top ([`PollTls`]) for a connection whose handshake our own
//! `net::tls_stream` already ran (it started from the peeked ClientHello).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use monoio::net::tcp::stream_poll::TcpStreamPoll;
use rustls::ServerConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::tls_stream::TlsSide;

/// A socket whose first bytes were already read (the accept path's peek): they
/// are handed out again before the socket is read.
pub struct Rewind {
    pub prefix: Vec<u8>,
    pub pos: usize,
    pub io: TcpStreamPoll,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                // Replayed: the peek buffer is not kept for the connection's life.
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A terminated TLS connection, driven by polls: rustls' buffers in between
/// the socket and HTTP/2. `rest` is ciphertext read before the switch.
/// Server side by default; the client side drives HTTP/2 to upstreams.
pub struct PollTls<C: TlsSide = ServerConnection> {
    pub io: TcpStreamPoll,
    pub conn: C,
    pub rest: Vec<u8>,
    pub eof: bool,
    /// close_notify was queued.
    pub closed: bool,
}

impl PollTls {
    /// The client's certificate chain, when it sent one (for passTLSClientCert).
    pub fn client_certs(&self) -> Option<std::rc::Rc<crate::net::client_certs::ClientCerts>> {
        let chain = self.conn.peer_certificates().filter(|c| !c.is_empty())?;
        let chain = chain.iter().map(|c| c.clone().into_owned()).collect();
        Some(std::rc::Rc::new(
            crate::net::client_certs::ClientCerts::new(chain),
        ))
    }
}

/// The socket as the blocking-style reader/writer rustls wants, for one poll:
/// "not ready" is `WouldBlock`, and the poll has registered the waker.
struct Sync<'a, 'b> {
    io: &'a mut TcpStreamPoll,
    cx: &'a mut Context<'b>,
}

impl Read for Sync<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *self.io).poll_read(self.cx, &mut rb) {
            Poll::Ready(Ok(())) => Ok(rb.filled().len()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Sync<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn pending_on_would_block<T>(r: io::Result<T>) -> Poll<io::Result<T>> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        r => Poll::Ready(r),
    }
}

impl<C: TlsSide> PollTls<C> {
    /// Writes the records rustls has queued; Pending while the socket is full.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            let mut sync = Sync {
                io: &mut self.io,
                cx,
            };
            ready!(pending_on_would_block(self.conn.write_tls(&mut sync)))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Gives rustls more ciphertext (what was read before the switch first).
    /// Ready(Ok(false)): the socket reached its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let n = if !self.rest.is_empty() {
            let mut rest = &self.rest[..];
            let n = self.conn.read_tls(&mut rest)?;
            self.rest.drain(..n);
            n
        } else {
            let mut sync = Sync {
                io: &mut self.io,
                cx,
            };
            ready!(pending_on_would_block(self.conn.read_tls(&mut sync)))?
        };
        if let Err(e) = self.conn.process_new_packets() {
            // Best effort: the alert rustls queued tells the client why.
            let _ = self.poll_send(cx);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
        }
        Poll::Ready(Ok(n > 0))
    }
}

impl<C: TlsSide + Unpin> AsyncRead for PollTls<C> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match this.conn.reader().read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // A close without close_notify: the end, as HTTP/2 framing
                // makes it harmless (a cut frame is the codec's error).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Poll::Ready(Ok(()));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            // What rustls queued while reading (a KeyUpdate answer) goes out
            // now; a full socket does not stop the read.
            if let Poll::Ready(Err(e)) = this.poll_send(cx) {
                return Poll::Ready(Err(e));
            }
            if !ready!(this.poll_fill(cx))? {
                this.eof = true;
            }
        }
    }
}

impl<C: TlsSide + Unpin> AsyncWrite for PollTls<C> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // rustls takes plaintext up to its own bound; the records leave as the
        // socket takes them.
        let n = this.conn.writer().write(buf)?;
        match this.poll_send(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if n == 0 => Poll::Pending,
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.conn.writer().flush()?;
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // close_notify once; the write side then closes (see net::tls_stream).
        if !this.closed {
            this.closed = true;
            this.conn.send_close_notify();
        }
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}
