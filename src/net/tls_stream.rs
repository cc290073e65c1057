//! A thin rustls adapter for monoio's owned-buffer I/O: a TLS connection over a
//! `TcpStream`. The server side starts from bytes already peeked ([`accept`]);
//! the client side (upstream TLS, `net/upstream_tls.rs`) uses the same stream
//! over a `ClientConnection` ([`TlsSide`]). Here: the types, the handshake and
//! splitting; `records` moves bytes between socket and rustls; `rent` is the
//! monoio I/O traits and `ClientIo`.
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
//! Closing goes through one function, `records::close` (reached as `shutdown` of the
//! stream or of its write half, and as `ClientIo::close`): it sends
//! close_notify once, bounded by [`CLOSE_NOTIFY_TIME`], then half-closes the
//! socket. Without the alert an OpenSSL client reports `unexpected eof` and
//! drops the session it could have resumed.

mod records;
mod rent;

use std::cell::RefCell;
use std::io::{self, BufRead};
use std::ops::DerefMut;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::io::{OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;
use rustls::{ConnectionCommon, ServerConfig, ServerConnection};

use crate::runtime::io::{IoFail, until};
use records::{flush_tls, pump};

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
