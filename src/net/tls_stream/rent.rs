//! The stream and its halves as monoio's owned-buffer `AsyncReadRent` /
//! `AsyncWriteRent`, and the server stream as a [`ClientIo`] (idle watch, close,
//! halves, client certificates).

use std::io;
use std::rc::Rc;

use monoio::BufResult;
use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut, RawBuf};
use monoio::io::{AsyncReadRent, AsyncWriteRent};

use super::records::{close, flush_tls, read_plain, write_plain};
use super::{TlsReadHalf, TlsSide, TlsStream, TlsWriteHalf};
use crate::net::client_io::ClientIo;
use crate::net::peer::Peek;
use crate::net::tls_peer;

fn in_slice<T: IoBuf>(buf: &T) -> &[u8] {
    // SAFETY: `read_ptr` is valid for `bytes_init` initialized bytes while we own `buf`.
    unsafe { std::slice::from_raw_parts(buf.read_ptr(), buf.bytes_init()) }
}

macro_rules! impl_read {
    ($ty:ident) => {
        impl<C: TlsSide> AsyncReadRent for $ty<C> {
            async fn read<T: IoBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
                let r = read_plain(&mut self.io, &self.conn, &mut self.rd, &mut buf).await;
                if let Ok(n) = r {
                    // SAFETY: `read_plain` wrote `n` bytes at the start of `buf`.
                    unsafe { buf.set_init(n) };
                }
                (r, buf)
            }

            async fn readv<T: IoVecBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
                // SAFETY: the raw buffer views the first iovec, which outlives the read.
                let r = match unsafe { RawBuf::new_from_iovec_mut(&mut buf) } {
                    Some(raw) => self.read(raw).await.0,
                    None => Ok(0),
                };
                if let Ok(n) = r {
                    // SAFETY: `n` bytes were written into the first iovec.
                    unsafe { buf.set_init(n) };
                }
                (r, buf)
            }
        }
    };
}

macro_rules! impl_write {
    ($ty:ident) => {
        impl<C: TlsSide> AsyncWriteRent for $ty<C> {
            async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
                let r = write_plain(&mut self.io, &self.conn, &mut self.wr, in_slice(&buf)).await;
                (r, buf)
            }

            async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
                // SAFETY: the raw buffer views the first iovec, which outlives the write.
                let r = match unsafe { RawBuf::new_from_iovec(&buf) } {
                    Some(raw) => self.write(raw).await.0,
                    None => Ok(0),
                };
                (r, buf)
            }

            async fn flush(&mut self) -> io::Result<()> {
                flush_tls(&mut self.io, &self.conn, &mut self.wr, None).await
            }

            async fn shutdown(&mut self) -> io::Result<()> {
                close(&mut self.io, &self.conn, &mut self.wr).await
            }
        }
    };
}

impl_read!(TlsStream);
impl_read!(TlsReadHalf);
impl_write!(TlsStream);
impl_write!(TlsWriteHalf);

impl ClientIo for TlsStream {
    type ReadHalf = TlsReadHalf;
    type WriteHalf = TlsWriteHalf;

    async fn peer_closed(&self) {
        // Ciphertext still buffered: the client is there.
        if self.rd.pos < self.rd.buf.len() {
            return std::future::pending().await;
        }
        // A peek cannot tell a close_notify from a pipelined request (TLS 1.3
        // encrypts alerts), so what arrives is handed to rustls (see `tls_peer`).
        loop {
            if self.io.readable(false).await.is_err() {
                return;
            }
            let fd = std::os::fd::AsRawFd::as_raw_fd(&self.io);
            let seen = tls_peer::probe(fd, &mut self.conn.borrow_mut());
            match seen {
                Peek::Gone => return,
                Peek::Data => std::future::pending::<()>().await,
                Peek::Quiet => {}
            }
        }
    }

    async fn close(mut self) {
        if let Err(e) = close(&mut self.io, &self.conn, &mut self.wr).await {
            log::debug!("TLS close: {e}");
        }
    }

    fn into_halves(self) -> (TlsReadHalf, TlsWriteHalf) {
        TlsStream::into_halves(self)
    }

    fn client_certs(&self) -> Option<Rc<crate::net::client_certs::ClientCerts>> {
        let conn = self.conn.borrow();
        let chain = conn.peer_certificates().filter(|c| !c.is_empty())?;
        let chain = chain.iter().map(|c| c.clone().into_owned()).collect();
        Some(Rc::new(crate::net::client_certs::ClientCerts::new(chain)))
    }
}
