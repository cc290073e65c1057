//! Upstream connections: dialing with a deadline that never drops an in-flight
//! connect (monoio 0.2.4 leaks the fd of a dropped one), and the per-worker idle
//! pool — LIFO reuse, bounded per server, expired after `idleConnTimeout`, and
//! never reused once anything (stray bytes, EOF, a reset) arrived on it while idle.
//! An `https://` server's connection runs its TLS handshake right after the
//! connect (`upstream_tls`); its pool entry is keyed by the TLS settings too.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;
use rustc_hash::FxHashMap;

use crate::net::peer::{self, Peek};
use crate::net::upstream_tls::{self, TlsTarget, UpStream};

/// Read buffer of an upstream connection; response heads must fit in it (grown on
/// demand up to the response head limit) and bodies stream through it.
/// 32 KiB: a 16 KiB response and its head arrive in one read and leave in one
/// client write (two of each with 16 KiB; measured in scenario 4-16k).
pub const UPSTREAM_BUF_SIZE: usize = 32 * 1024;
/// An idle pooled connection older than this gives its read buffer back.
const SHED_BUFFER_AFTER: Duration = Duration::from_millis(500);

/// Response heads larger than this are refused (502), like nginx's proxy buffers.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

pub struct UpstreamConn {
    pub stream: UpStream,
    pub buf: Vec<u8>,
    /// Came from the pool: a failure before any response byte may be a stale
    /// connection, which makes a retry on a fresh one safe.
    pub reused: bool,
    idle_since: Instant,
    idle_deadline: Instant,
}

/// Why no connection to an upstream was made.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("connect timed out")]
    Timeout,
    #[error("connect failed: {0}")]
    Failed(std::io::Error),
    /// The TLS handshake failed: the reason names what (an unknown issuer, a
    /// name mismatch, a protocol version…).
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
}

/// Where a pooled connection goes: the server's address and, for TLS, the
/// identity of its TLS settings (0 for plaintext).
pub type PoolKey = (SocketAddr, u64);

/// The pool key of a server reached with `tls` (or in plaintext).
pub fn pool_key(addr: SocketAddr, tls: Option<&TlsTarget>) -> PoolKey {
    (addr, tls.map_or(0, |t| t.id))
}

/// Connects to `addr` within `timeout`, then, with `tls`, runs the TLS
/// handshake within [`upstream_tls::TLS_HANDSHAKE_TIMEOUT`].
pub async fn dial_tls(
    addr: SocketAddr,
    timeout: Duration,
    tls: Option<&TlsTarget>,
) -> Result<UpstreamConn, DialError> {
    let mut conn = dial(addr, timeout).await?;
    if let Some(target) = tls {
        let UpStream::Plain(tcp) = conn.stream else {
            unreachable!("dial returns plain TCP");
        };
        let deadline = Instant::now() + upstream_tls::TLS_HANDSHAKE_TIMEOUT;
        let stream = upstream_tls::connect(tcp, target, deadline)
            .await
            .map_err(DialError::Tls)?;
        conn.stream = UpStream::Tls(Box::new(stream));
    }
    Ok(conn)
}

/// Connects to `addr` within `timeout`. The connect runs in its own task and is never
/// dropped mid-flight (monoio 0.2.4 can leak the fd); on timeout that task finishes on
/// its own and closes whatever it got.
pub async fn dial(addr: SocketAddr, timeout: Duration) -> Result<UpstreamConn, DialError> {
    let connect = monoio::spawn(async move { TcpStream::connect_addr(addr).await });
    let stream = match monoio::time::timeout(timeout, connect).await {
        Err(_) => return Err(DialError::Timeout),
        Ok(Err(e)) => return Err(DialError::Failed(e)),
        Ok(Ok(s)) => s,
    };
    stream.set_nodelay(true).map_err(DialError::Failed)?;
    let now = Instant::now();
    Ok(UpstreamConn {
        stream: UpStream::Plain(stream),
        buf: Vec::with_capacity(UPSTREAM_BUF_SIZE),
        reused: false,
        idle_since: now,
        idle_deadline: now,
    })
}

impl UpstreamConn {
    /// The response side of one HTTP/2 stream, its head already rendered in
    /// HTTP/1.1 form at the front of `buf`; never checked in.
    pub fn h2(body: crate::net::h2_body::H2Body, buf: Vec<u8>) -> Self {
        let now = Instant::now();
        UpstreamConn {
            stream: UpStream::H2(Box::new(body)),
            buf,
            reused: false,
            idle_since: now,
            idle_deadline: now,
        }
    }
}

/// Idle upstream connections of one worker, by server address. Keyed by address
/// rather than by service so that a reload that keeps a server keeps its connections.
#[derive(Default)]
pub struct Pool {
    /// FxHash: keys are our own server addresses, not attacker input, and SipHash
    /// showed up in the per-request profile.
    idle: RefCell<FxHashMap<PoolKey, Vec<UpstreamConn>>>,
}

impl Pool {
    pub fn new() -> Self {
        Self::default()
    }

    /// The most recently used live idle connection to `addr`, if any.
    ///
    /// Every candidate is peeked first, however briefly it sat idle: bytes that
    /// arrived after the response it last carried (a body after a 204, 304 or
    /// HEAD response, bytes past a Content-Length body, sent a little late)
    /// would otherwise be read as the response to this request, which may be
    /// another client's. Data, EOF or a reset all discard the connection. One
    /// non-blocking `recv` per reuse is the price; watching idle connections
    /// with epoll instead would cost two `epoll_ctl` calls per request.
    pub fn checkout(&self, key: PoolKey) -> Option<UpstreamConn> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(&key)?;
        let now = Instant::now();
        while let Some(mut conn) = list.pop() {
            if now >= conn.idle_deadline || !quiet(&conn) {
                continue;
            }
            conn.reused = true;
            if conn.buf.capacity() == 0 {
                // Shed by `sweep` while it sat idle.
                conn.buf.reserve(UPSTREAM_BUF_SIZE);
            }
            return Some(conn);
        }
        None
    }

    /// Returns a connection whose last exchange completed cleanly.
    pub fn checkin(
        &self,
        key: PoolKey,
        mut conn: UpstreamConn,
        max_idle: usize,
        idle_timeout: Duration,
    ) {
        if max_idle == 0 || !conn.buf.is_empty() || conn.stream.has_buffered() {
            return;
        }
        // A large body grew the buffer; idle connections keep only the usual size.
        conn.buf.shrink_to(UPSTREAM_BUF_SIZE);
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(key).or_default();
        if list.len() >= max_idle {
            // Keep the freshest: the oldest is the likeliest to be closed by the upstream.
            list.remove(0);
        }
        let now = Instant::now();
        conn.idle_since = now;
        conn.idle_deadline = now + idle_timeout;
        list.push(conn);
    }

    /// Closes connections idle past their deadline or that the upstream closed,
    /// reset or wrote to while idle (so their descriptors do not linger in
    /// CLOSE_WAIT until the deadline), and frees the read buffers of those idle
    /// for [`SHED_BUFFER_AFTER`]; called about once a second. A pool filled by a
    /// burst (200 connections by default) would otherwise keep 32 KiB each; a
    /// connection reused within the window keeps its buffer, so steady traffic
    /// allocates nothing.
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut idle = self.idle.borrow_mut();
        idle.retain(|_, list| {
            list.retain(|c| now < c.idle_deadline && quiet(c));
            for c in list.iter_mut() {
                if now.duration_since(c.idle_since) >= SHED_BUFFER_AFTER {
                    c.buf = Vec::new();
                }
            }
            !list.is_empty()
        });
    }

    pub fn idle_count(&self) -> usize {
        self.idle.borrow().values().map(Vec::len).sum()
    }
}

/// True unless the upstream closed, reset or sent stray bytes on an idle connection.
/// On a TLS connection any record that arrived while idle (a close_notify, a
/// late session ticket) also counts: the connection is then not reused, which
/// costs at most a new handshake.
fn quiet(conn: &UpstreamConn) -> bool {
    peer::peek(conn.stream.as_raw_fd()) == Peek::Quiet
}
