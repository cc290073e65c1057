//! This worker's HTTP/2 connections to upstream servers, by server address
//! and TLS settings (the HTTP/1.1 pool's key): a few connections per server,
//! each shared by as many concurrent requests as the server's
//! SETTINGS_MAX_CONCURRENT_STREAMS allows; a request that finds them all
//! full dials another. Each connection runs in a task of its own on the
//! worker's runtime (`drive`), which polls the `h2` connection, keeps the
//! server's stream limit in view, and ends the connection after
//! `idleConnTimeout` without a stream. A connection that ended (GOAWAY, an
//! error, the idle timeout) is marked dead and left out from then on.
//!
//! `maxIdleConnsPerHost` bounds the connections without a stream, per server
//! and worker, as it bounds idle HTTP/1.1 connections: when a connection's
//! last stream ends and more than that many are idle, that connection leaves
//! the pool and closes (its task sends GOAWAY once no handle is left); `0`
//! keeps none, so every request dials.
//!
//! Worker-local (a thread-local, as the mirror's count): workers never share
//! upstream connections, and connections outlive reloads as the HTTP/1.1
//! pool's do.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::SendRequest;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::config::ServersTransport;
use crate::http::h2::io::PollTls;
use crate::net::upstream::{self, DialError, PoolKey, UpstreamConn};
use crate::net::upstream_tls::{TlsTarget, UpStream};

/// Each upstream stream's receive window: response bytes a server may send
/// ahead of the client taking them.
pub const DEFAULT_STREAM_WINDOW: u32 = 256 * 1024;
/// The connection's receive window, over all its streams.
pub const DEFAULT_CONNECTION_WINDOW: u32 = 1024 * 1024;
/// Request body bytes queued per stream before it waits for the server's window.
pub const DEFAULT_SEND_BUFFER: usize = 64 * 1024;
/// How often an idle connection checks its idle time.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// What the pool and a connection's task share.
struct ConnState {
    /// Streams in flight on it.
    open: Cell<usize>,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS, as last seen.
    max: Cell<usize>,
    dead: Cell<bool>,
    idle_since: Cell<Instant>,
    fd: RawFd,
    key: PoolKey,
    /// The transport's `maxIdleConnsPerHost`, as the last request saw it.
    max_idle: Cell<usize>,
}

struct Conn {
    send: SendRequest<Bytes>,
    state: Rc<ConnState>,
}

thread_local! {
    static POOL: RefCell<FxHashMap<PoolKey, Vec<Conn>>> = RefCell::default();
}

/// One stream's place on a connection, given back when dropped.
pub struct Slot {
    state: Rc<ConnState>,
    pub send: SendRequest<Bytes>,
    /// The connection served requests before this one.
    pub reused: bool,
}

impl Slot {
    fn take(c: &Conn, reused: bool) -> Slot {
        c.state.open.set(c.state.open.get() + 1);
        Slot {
            state: c.state.clone(),
            send: c.send.clone(),
            reused,
        }
    }

    pub fn fd(&self) -> RawFd {
        self.state.fd
    }

    /// The connection cannot take new streams (GOAWAY, a broken connection):
    /// left out from now on.
    pub fn kill(&self) {
        self.state.dead.set(true);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let open = self.state.open.get().saturating_sub(1);
        self.state.open.set(open);
        self.state.idle_since.set(Instant::now());
        if open == 0 {
            // Not borrowed here: the pool is only borrowed while it takes
            // slots or adds a connection, and neither drops a slot.
            POOL.with(|pool| {
                if let Ok(mut pool) = pool.try_borrow_mut() {
                    bound_idle(&mut pool, &self.state);
                }
            });
        }
    }
}

/// `state`'s connection just went idle: it leaves the pool when that makes
/// more idle connections to its server than `maxIdleConnsPerHost`.
fn bound_idle(pool: &mut FxHashMap<PoolKey, Vec<Conn>>, state: &Rc<ConnState>) {
    let Some(list) = pool.get_mut(&state.key) else {
        return;
    };
    let idle = list
        .iter()
        .filter(|c| c.state.open.get() == 0 && !c.state.dead.get())
        .count();
    if idle > state.max_idle.get() {
        // Its `SendRequest` goes with it; once the last handle is gone the
        // `h2` connection says GOAWAY and its task ends, closing the socket.
        state.dead.set(true);
        list.retain(|c| !Rc::ptr_eq(&c.state, state));
    }
}

/// A live connection to `key` with room for one more stream; `max_idle` is
/// the transport's `maxIdleConnsPerHost`.
pub fn get(key: PoolKey, max_idle: usize) -> Option<Slot> {
    POOL.with_borrow_mut(|pool| {
        let list = pool.get_mut(&key)?;
        list.retain(|c| !c.state.dead.get());
        // The oldest with room first: streams pack onto few connections.
        let c = list
            .iter()
            .find(|c| c.state.open.get() < c.state.max.get())?;
        c.state.max_idle.set(max_idle);
        Some(Slot::take(c, true))
    })
}

/// A new connection: HTTP/2, or the TLS connection to a server that chose
/// HTTP/1.1 in ALPN (it goes on over HTTP/1.1).
pub enum Dialed {
    H2(Slot),
    H1(UpstreamConn),
}

/// Dials `addr` (TLS with `tls`) and starts HTTP/2 on it, with prior
/// knowledge in clear text or when ALPN agreed `h2`.
pub async fn dial(
    key: PoolKey,
    t: &ServersTransport,
    tls: Option<&TlsTarget>,
) -> Result<Dialed, DialError> {
    let up = upstream::dial_tls(key.0, t.dial_timeout, tls).await?;
    let no_poll = |_| DialError::Failed(std::io::Error::other("no poll-io socket"));
    if let UpStream::Tls(s) = &up.stream
        && s.alpn().as_deref() != Some(b"h2")
    {
        return Ok(Dialed::H1(up));
    }
    match up.stream {
        UpStream::Tls(s) => {
            let fd = s.tcp().as_raw_fd();
            let Some((tcp, conn, rest)) = s.into_parts() else {
                return Err(DialError::Failed(std::io::Error::other("TLS stream split")));
            };
            let io = PollTls {
                io: tcp.try_into_poll_io().map_err(no_poll)?,
                conn,
                rest,
                eof: false,
                closed: false,
            };
            start(key, io, fd, t).await.map(Dialed::H2)
        }
        UpStream::Plain(tcp) => {
            let fd = tcp.as_raw_fd();
            let io = tcp.try_into_poll_io().map_err(no_poll)?;
            start(key, io, fd, t).await.map(Dialed::H2)
        }
        UpStream::H2(_) => unreachable!("dial returns a socket"),
    }
}

/// Sends the connection preface and SETTINGS, spawns the connection's task
/// and adds the connection to the pool.
async fn start<T>(key: PoolKey, io: T, fd: RawFd, t: &ServersTransport) -> Result<Slot, DialError>
where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(DEFAULT_STREAM_WINDOW)
        .initial_connection_window_size(DEFAULT_CONNECTION_WINDOW)
        .max_send_buffer_size(DEFAULT_SEND_BUFFER)
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|e| DialError::Failed(std::io::Error::other(e)))?;
    let state = Rc::new(ConnState {
        open: Cell::new(0),
        // Until the server's SETTINGS arrive, no limit (RFC 9113 §6.5.2).
        max: Cell::new(usize::MAX),
        dead: Cell::new(false),
        idle_since: Cell::new(Instant::now()),
        fd,
        key,
        max_idle: Cell::new(t.max_idle_conns_per_host),
    });
    monoio::spawn(drive(conn, state.clone(), t.idle_conn_timeout));
    let c = Conn { send, state };
    let slot = Slot::take(&c, false);
    POOL.with_borrow_mut(|pool| pool.entry(key).or_default().push(c));
    Ok(slot)
}

/// Polls the connection until it ends, or until it sat `idle` without a
/// stream (then it is dropped: the socket closes).
async fn drive<T>(mut conn: h2::client::Connection<T, Bytes>, state: Rc<ConnState>, idle: Duration)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut tick = Box::pin(monoio::time::sleep(IDLE_CHECK));
    let end = poll_fn(|cx| {
        if let Poll::Ready(r) = Pin::new(&mut conn).poll(cx) {
            return Poll::Ready(r.err());
        }
        state.max.set(conn.max_concurrent_send_streams());
        while tick.as_mut().poll(cx).is_ready() {
            if state.open.get() == 0 && state.idle_since.get().elapsed() >= idle {
                return Poll::Ready(None);
            }
            tick.set(monoio::time::sleep(IDLE_CHECK));
        }
        Poll::Pending
    })
    .await;
    state.dead.set(true);
    if let Some(e) = end {
        log::debug!("HTTP/2 upstream connection ended: {e}");
    }
}
