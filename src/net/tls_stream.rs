//! A thin rustls adapter for monoio's owned-buffer I/O: a TLS connection over a
//! `TcpStream`. The server side starts from bytes already peeked ([`accept`]);
//! the client side (upstream TLS, `net/upstream_tls.rs`) uses the same stream
//! over a `ClientConnection` ([`TlsSide`]).
//!
//! Why not monoio-rustls 0.4: it cannot start from a peeked ClientHello, and its
//! `Split` shares the whole stream (rustls state included) between the two halves
//! through an `UnsafeCell`, so a tunnel's concurrent read and write would alias
//! the `ServerConnection`. Here the connection state sits in an `Rc<RefCell<_>>`
//! borrowed only between awaits, and each half owns its half of the socket, so
//! [`TlsStream::into_halves`] is sound. A read half never writes: what rustls
//! queues while reading (a KeyUpdate answer) goes out with the write half's next
//! write.
//!
//! Ciphertext buffers are per connection and reused: `rd` holds what the socket
//! gave and rustls has not taken yet (initially the peeked bytes); `wr` holds
//! records on their way out.
//!
//! Closing goes through one function, [`close`] (reached as `shutdown` of the
//! stream or of its write half, and as [`ClientIo::close`]): it sends
//! close_notify once, bounded by [`CLOSE_NOTIFY_TIME`], then half-closes the
//! socket. Without the alert an OpenSSL client reports `unexpected eof` and
//! drops the session it could have resumed.

use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::ops::DerefMut;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::BufResult;
use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut, RawBuf};
use monoio::io::{AsyncReadRent, AsyncWriteRent, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;
use rustls::{ConnectionCommon, ServerConfig, ServerConnection};

use crate::net::client_io::ClientIo;
use crate::net::peer::Peek;
use crate::net::tls_peer;
use crate::runtime::io::{IoFail, read_some, reserve_up_to, until, write_vec};

/// Socket reads for TLS records: one full record plus its header.
const RECORD_BUF: usize = 16 * 1024 + 256;
/// How long a close waits for its close_notify to leave: the alert is a few
/// dozen bytes, so only a client that stopped reading (a full socket buffer)
/// takes this long, and it must not hold the task (or a graceful stop) longer.
pub const CLOSE_NOTIFY_TIME: Duration = Duration::from_secs(1);

/// Either end of a rustls connection: what the stream drives is its common part.
pub trait TlsSide: DerefMut<Target = ConnectionCommon<Self::Data>> + 'static {
    type Data;
}

impl TlsSide for ServerConnection {
    type Data = rustls::server::ServerConnectionData;
}

impl TlsSide for rustls::ClientConnection {
    type Data = rustls::client::ClientConnectionData;
}

type Shared<C> = Rc<RefCell<C>>;

#[derive(Default)]
struct ReadSide {
    buf: Vec<u8>,
    /// How much of `buf` rustls has taken.
    pos: usize,
    eof: bool,
}

#[derive(Default)]
struct WriteSide {
    buf: Vec<u8>,
    /// A write of `buf` was started and has not completed: if it was given up
    /// (a write deadline), a record may be cut short, and an alert after it
    /// would only be garbage to the client.
    writing: bool,
    /// close_notify went out (or was given up): closing again does nothing.
    closed: bool,
}

/// A TLS connection: server side by default, client side over a `ClientConnection`.
pub struct TlsStream<C: TlsSide = ServerConnection> {
    io: TcpStream,
    conn: Shared<C>,
    rd: ReadSide,
    wr: WriteSide,
}

pub struct TlsReadHalf<C: TlsSide = ServerConnection> {
    io: OwnedReadHalf<TcpStream>,
    conn: Shared<C>,
    rd: ReadSide,
}

pub struct TlsWriteHalf<C: TlsSide = ServerConnection> {
    io: OwnedWriteHalf<TcpStream>,
    conn: Shared<C>,
    wr: WriteSide,
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

fn io_fail(e: IoFail) -> io::Error {
    match e {
        IoFail::Timeout => io::Error::new(io::ErrorKind::TimedOut, "TLS I/O timed out"),
        IoFail::Io(e) => e,
    }
}

/// Runs the server handshake on `io`, replaying `peeked` first. The deadline
/// bounds the whole handshake; on failure the alert rustls queued (if any) is sent.
pub async fn accept(
    io: TcpStream,
    peeked: Vec<u8>,
    config: Arc<ServerConfig>,
    deadline: Option<Instant>,
) -> io::Result<TlsStream> {
    let conn = ServerConnection::new(config).map_err(tls_error)?;
    handshake(io, conn, peeked, deadline).await
}

/// Runs the handshake of `conn` (either side) on `io`, `peeked` first, within
/// `deadline`.
pub async fn handshake<C: TlsSide>(
    io: TcpStream,
    conn: C,
    peeked: Vec<u8>,
    deadline: Option<Instant>,
) -> io::Result<TlsStream<C>> {
    let mut s = TlsStream {
        io,
        conn: Rc::new(RefCell::new(conn)),
        rd: ReadSide {
            buf: peeked,
            pos: 0,
            eof: false,
        },
        wr: WriteSide::default(),
    };
    until(deadline, s.handshake()).await.map_err(io_fail)??;
    Ok(s)
}

impl<C: TlsSide> TlsStream<C> {
    async fn handshake(&mut self) -> io::Result<()> {
        loop {
            flush_tls(&mut self.io, &self.conn, &mut self.wr, None).await?;
            if !self.conn.borrow().is_handshaking() {
                return Ok(());
            }
            if let Err(e) = pump(&mut self.io, &self.conn, &mut self.rd).await {
                // Best effort: tell the client why (e.g. unrecognized_name).
                let _ = flush_tls(&mut self.io, &self.conn, &mut self.wr, None).await;
                return Err(e);
            }
        }
    }

    /// Whether the handshake resumed a session (a ticket) rather than a full one.
    pub fn resumed(&self) -> bool {
        self.conn.borrow().handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// The ALPN protocol agreed on, if any.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        self.conn.borrow().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The socket, the rustls connection and the ciphertext read but not yet
    /// given to rustls: what a poll-based driver (HTTP/2, `http::h2::io`) goes
    /// on with. `None` when the stream was split (it never is before this).
    pub fn into_parts(self) -> Option<(TcpStream, C, Vec<u8>)> {
        let conn = Rc::try_unwrap(self.conn).ok()?.into_inner();
        let mut rest = self.rd.buf;
        rest.drain(..self.rd.pos.min(rest.len()));
        Some((self.io, conn, rest))
    }

    /// The socket, for readiness and peeks.
    pub fn tcp(&self) -> &TcpStream {
        &self.io
    }

    /// Ciphertext or plaintext already taken from the socket and not yet read:
    /// a connection holding some is not idle.
    /// An end of stream seen by rustls counts too.
    pub fn has_buffered(&self) -> bool {
        if self.rd.pos < self.rd.buf.len() || self.rd.eof {
            return true;
        }
        let mut conn = self.conn.borrow_mut();
        let pending = conn.reader().fill_buf().map(|b| b.len());
        // WouldBlock: nothing decrypted and the peer has not closed.
        !matches!(pending, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Splits into halves that can be driven concurrently (tunnels, TCP proxying).
    pub fn into_halves(self) -> (TlsReadHalf<C>, TlsWriteHalf<C>) {
        let (r, w) = self.io.into_split();
        let read = TlsReadHalf {
            io: r,
            conn: self.conn.clone(),
            rd: self.rd,
        };
        let write = TlsWriteHalf {
            io: w,
            conn: self.conn,
            wr: self.wr,
        };
        (read, write)
    }
}

/// Gives rustls more ciphertext: buffered bytes first, else one socket read.
/// Errors on a TLS protocol error or on end of stream during the handshake.
async fn pump<R: AsyncReadRent, C: TlsSide>(
    io: &mut R,
    conn: &Shared<C>,
    rd: &mut ReadSide,
) -> io::Result<()> {
    if rd.pos < rd.buf.len() {
        let mut c = conn.borrow_mut();
        let mut rest = &rd.buf[rd.pos..];
        rd.pos += c.read_tls(&mut rest)?;
        c.process_new_packets().map_err(tls_error)?;
        return Ok(());
    }
    if rd.eof {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    rd.buf.clear();
    rd.pos = 0;
    reserve_up_to(&mut rd.buf, RECORD_BUF, RECORD_BUF);
    let n = read_some(io, &mut rd.buf, usize::MAX, None)
        .await
        .map_err(io_fail)?;
    if n == 0 {
        rd.eof = true;
        let mut c = conn.borrow_mut();
        c.read_tls(&mut io::empty())?;
        c.process_new_packets().map_err(tls_error)?;
        if c.is_handshaking() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

/// Copies plaintext into the start of `out`, as a socket read fills it; 0 at the
/// end (close_notify, or a TCP close without one, which HTTP/1.1 framing makes
/// harmless).
async fn read_plain<R: AsyncReadRent, T: IoBufMut, C: TlsSide>(
    io: &mut R,
    conn: &Shared<C>,
    rd: &mut ReadSide,
    out: &mut T,
) -> io::Result<usize> {
    let room = out.bytes_total();
    if room == 0 {
        return Ok(0);
    }
    loop {
        match copy_plain(&mut **conn.borrow_mut(), out, room) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        if rd.eof && rd.pos >= rd.buf.len() {
            return Ok(0);
        }
        pump(io, conn, rd).await?;
    }
}

/// Copies up to `room` bytes of decrypted plaintext into `out`. The caller's buffer
/// may be uninitialised, so no `&mut [u8]` is made over it: the bytes are copied
/// from rustls' own buffer (`BufRead`) through the raw write pointer.
fn copy_plain<T: IoBufMut, D>(
    c: &mut ConnectionCommon<D>,
    out: &mut T,
    room: usize,
) -> io::Result<usize> {
    let mut reader = c.reader();
    let chunk = reader.fill_buf()?;
    let n = chunk.len().min(room);
    // SAFETY: `write_ptr` is valid for writes of `bytes_total()` (= `room`) bytes
    // while we hold `out` (IoBufMut's contract), and `n <= room`; the source is
    // `n` initialised bytes inside rustls, which cannot overlap a buffer we own.
    unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), out.write_ptr(), n) };
    reader.consume(n);
    Ok(n)
}

/// Sends every record rustls has queued, by `deadline` if given.
async fn flush_tls<W: AsyncWriteRent, C: TlsSide>(
    io: &mut W,
    conn: &Shared<C>,
    wr: &mut WriteSide,
    deadline: Option<Instant>,
) -> io::Result<()> {
    loop {
        {
            let mut c = conn.borrow_mut();
            if !c.wants_write() {
                return Ok(());
            }
            wr.buf.clear();
            while c.wants_write() {
                c.write_tls(&mut wr.buf)?;
            }
        }
        wr.writing = true;
        write_vec(io, &mut wr.buf, deadline)
            .await
            .map_err(io_fail)?;
        wr.writing = false;
    }
}

async fn write_plain<W: AsyncWriteRent, C: TlsSide>(
    io: &mut W,
    conn: &Shared<C>,
    wr: &mut WriteSide,
    data: &[u8],
) -> io::Result<usize> {
    let n = conn.borrow_mut().writer().write(data)?;
    flush_tls(io, conn, wr, None).await?;
    Ok(n)
}

/// The one way a TLS connection is closed: close_notify (after whatever rustls
/// still holds), flushed within [`CLOSE_NOTIFY_TIME`], then a TCP half-close.
/// Once only; skipped after a write that was given up mid-record.
async fn close<W: AsyncWriteRent, C: TlsSide>(
    io: &mut W,
    conn: &Shared<C>,
    wr: &mut WriteSide,
) -> io::Result<()> {
    if std::mem::replace(&mut wr.closed, true) {
        return Ok(());
    }
    if !wr.writing {
        conn.borrow_mut().send_close_notify();
        let deadline = Instant::now() + CLOSE_NOTIFY_TIME;
        flush_tls(io, conn, wr, Some(deadline)).await?;
    }
    io.shutdown().await
}

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
