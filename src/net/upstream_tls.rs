//! TLS to upstream servers (`https://` server URLs): the client handshake on
//! the worker's runtime, over the same rustls adapter as the server side
//! (`tls_stream`), and [`UpStream`], an upstream connection that is plain TCP
//! or TLS, with halves for tunnels, or the response body of one HTTP/2
//! stream (`h2_body`), which only the response relay reads.
//!
//! The `ClientConfig` comes built from the snapshot ([`TlsTarget`]), never per
//! request; its session store lets a new connection to a server resume a
//! session an earlier one got, so filling a pool does not pay full handshakes.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::BufResult;
use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::net::h2_body::H2Body;
use crate::net::tls_stream::{self, TlsReadHalf, TlsStream, TlsWriteHalf};

/// Longest TLS handshake with an upstream, after the TCP connect: Go's
/// `http.Transport` value, which Traefik keeps (`TLSHandshakeTimeout`).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to speak TLS to one server: the transport's config and the name to
/// send (SNI) and verify.
#[derive(Debug)]
pub struct TlsTarget {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
    /// Same value for the same settings and name across reloads: pooled
    /// connections are keyed by it (0 is plaintext), so a connection is only
    /// reused by requests that would have made the same handshake.
    pub id: u64,
}

impl PartialEq for TlsTarget {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// Runs the client handshake on a connected socket within `deadline`.
pub async fn connect(
    tcp: TcpStream,
    target: &TlsTarget,
    deadline: Instant,
) -> io::Result<TlsStream<ClientConnection>> {
    let conn = ClientConnection::new(target.config.clone(), target.name.clone())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    tls_stream::handshake(tcp, conn, Vec::new(), Some(deadline)).await
}

/// A connection to an upstream server.
pub enum UpStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<ClientConnection>>),
    /// One HTTP/2 stream's response body: never pooled, watched as a socket,
    /// written to or split (an HTTP/2 response is never a 101).
    H2(Box<H2Body>),
}

pub enum UpRead {
    Plain(OwnedReadHalf<TcpStream>),
    Tls(TlsReadHalf<ClientConnection>),
}

pub enum UpWrite {
    Plain(OwnedWriteHalf<TcpStream>),
    Tls(TlsWriteHalf<ClientConnection>),
}

impl UpStream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            UpStream::Plain(s) => s,
            UpStream::Tls(s) => s.tcp(),
            UpStream::H2(_) => unreachable!("an HTTP/2 stream is not watched as a socket"),
        }
    }

    /// The HTTP/2 stream's body, when the response came over HTTP/2.
    pub fn h2(&mut self) -> Option<&mut H2Body> {
        match self {
            UpStream::H2(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, UpStream::Tls(_))
    }

    /// Bytes taken from the socket but not yet read (TLS only): such a
    /// connection cannot go back to the pool.
    pub fn has_buffered(&self) -> bool {
        match self {
            UpStream::Plain(_) => false,
            UpStream::Tls(s) => s.has_buffered(),
            UpStream::H2(_) => true,
        }
    }

    pub fn into_split(self) -> (UpRead, UpWrite) {
        match self {
            UpStream::Plain(s) => {
                let (r, w) = s.into_split();
                (UpRead::Plain(r), UpWrite::Plain(w))
            }
            UpStream::Tls(s) => {
                let (r, w) = s.into_halves();
                (UpRead::Tls(r), UpWrite::Tls(w))
            }
            UpStream::H2(_) => unreachable!("an HTTP/2 response is never a 101"),
        }
    }
}

impl AsRawFd for UpStream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            UpStream::H2(b) => b.fd(),
            _ => self.tcp().as_raw_fd(),
        }
    }
}

/// Forwards the rent I/O traits to whichever transport the value holds.
macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Self::Plain($s) => $e,
            Self::Tls($s) => $e,
        }
    };
}

macro_rules! impl_read {
    ($ty:ty) => {
        impl AsyncReadRent for $ty {
            async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
                dispatch!(self, s => s.read(buf).await)
            }

            async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
                dispatch!(self, s => s.readv(buf).await)
            }
        }
    };
}

macro_rules! impl_write {
    ($ty:ty) => {
        impl AsyncWriteRent for $ty {
            async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
                dispatch!(self, s => s.write(buf).await)
            }

            async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
                dispatch!(self, s => s.writev(buf).await)
            }

            async fn flush(&mut self) -> io::Result<()> {
                dispatch!(self, s => s.flush().await)
            }

            async fn shutdown(&mut self) -> io::Result<()> {
                dispatch!(self, s => s.shutdown().await)
            }
        }
    };
}

impl_read!(UpRead);
impl_write!(UpWrite);

impl AsyncReadRent for UpStream {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Self::Plain(s) => s.read(buf).await,
            Self::Tls(s) => s.read(buf).await,
            Self::H2(s) => s.read(buf).await,
        }
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match self {
            Self::Plain(s) => s.readv(buf).await,
            Self::Tls(s) => s.readv(buf).await,
            Self::H2(s) => s.readv(buf).await,
        }
    }
}

/// Writes go to the connection; an HTTP/2 stream's body is read only (its
/// request went out through the stream itself).
macro_rules! h2_write_refused {
    ($self:ident, $buf:ident, $s:ident => $e:expr) => {
        match $self {
            Self::Plain($s) => $e,
            Self::Tls($s) => $e,
            Self::H2(_) => (Err(io::ErrorKind::Unsupported.into()), $buf),
        }
    };
}

impl AsyncWriteRent for UpStream {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        h2_write_refused!(self, buf, s => s.write(buf).await)
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        h2_write_refused!(self, buf, s => s.writev(buf).await)
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush().await,
            Self::Tls(s) => s.flush().await,
            Self::H2(_) => Ok(()),
        }
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.shutdown().await,
            Self::Tls(s) => s.shutdown().await,
            Self::H2(_) => Ok(()),
        }
    }
}
