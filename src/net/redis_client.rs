//! A small async Redis client on the worker's own monoio runtime, for
//! rateLimit's shared buckets: one command at a time per connection (no
//! pipelining), RESP2 (`net/resp.rs`), plain TCP or TLS (`upstream_tls`), and
//! a per-worker pool of connections.
//!
//! Nothing here blocks the worker: the connect is bounded by `dialTimeout`
//! (and TLS' handshake timeout), each write by `writeTimeout` and each read of
//! the reply by `readTimeout`. The address was resolved when the
//! configuration was compiled (control thread). A connection that failed is
//! dropped with every idle one (a server restart breaks them all at once), so
//! the next command dials afresh: recovery needs nothing but the server back.
//!
//! Pool: at most `poolSize` idle connections kept (LIFO); with
//! `maxActiveConns`, at most that many open at once, a command past it waiting
//! for one to be handed back (at most `readTimeout` + 1 s, go-redis'
//! `PoolTimeout`); with `minIdleConns`, that many kept idle by dial tasks of
//! the worker, started when a connection is taken.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use thiserror::Error;

use super::resp::{self, Reply, RespError};
use super::upstream::{self, DialError};
use super::upstream_tls::{TlsTarget, UpStream};
use crate::runtime::io::{self, IoFail};

/// Most bytes one reply may take in the read buffer before it is refused.
const MAX_REPLY: usize = 1 << 20;
/// Read buffer per connection.
const READ_CHUNK: usize = 4096;
/// go-redis waits this long past `readTimeout` for a pooled connection.
const POOL_WAIT_EXTRA: Duration = Duration::from_secs(1);

/// How to reach one Redis server, compiled from `rateLimit.redis`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `host:port` as configured, for log lines.
    pub endpoint: String,
    /// `Err`: the name did not resolve when compiled (every command fails).
    pub addr: Result<SocketAddr, String>,
    pub tls: Option<Arc<TlsTarget>>,
    pub username: String,
    pub password: String,
    pub db: i64,
    /// Idle connections kept per worker.
    pub pool_size: usize,
    /// Idle connections kept ready per worker (`minIdleConns`), dialed off
    /// the request path; 0: none.
    pub min_idle: usize,
    /// Open connections per worker at most; 0: no bound.
    pub max_active: usize,
    pub dial_timeout: Duration,
    /// `None`: no bound (Traefik's `0`).
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
    /// Several endpoints (`host:port`, address): a Redis Cluster, these the
    /// seeds its map is read from (`redis_cluster.rs`); empty: one server.
    pub seeds: Vec<(String, Result<SocketAddr, String>)>,
}

/// Why a command got no reply (a `-ERR` reply is a reply, not an error).
#[derive(Debug, Error)]
pub enum RedisError {
    #[error("{0}: address not resolved: {1}")]
    Unresolved(String, String),
    #[error("dial {0}: {1}")]
    Dial(String, DialError),
    #[error("{0}: {1}")]
    Io(String, IoFail),
    #[error("{0}: connection closed by the server")]
    Closed(String),
    #[error("{0}: {1}")]
    Protocol(String, RespError),
    #[error("{0}: reply over {MAX_REPLY} bytes")]
    TooLong(String),
    #[error("{0}: {1} refused: {2}")]
    Refused(String, &'static str, String),
    #[error("{0}: more bytes than one reply: the connection is out of step")]
    OutOfStep(String),
    #[error("{0}: no free connection in the pool (maxActiveConns)")]
    PoolTimeout(String),
    #[error("cluster {0}: slot {1} has no master in the cluster's slot map")]
    NoSlot(String, u16),
    #[error("cluster {0}: more than {1} redirects (MOVED/ASK)")]
    Redirects(String, usize),
}

struct Conn {
    stream: UpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
    reused: bool,
}

/// One worker's connections to one Redis server.
pub struct Client {
    settings: Arc<Settings>,
    /// For the tasks that top the idle list up to `min_idle`.
    me: Weak<Client>,
    /// Those tasks' dials in flight.
    filling: Cell<usize>,
    idle: RefCell<Vec<Conn>>,
    /// Connections open, idle or in use.
    open: Cell<usize>,
    /// Commands waiting for a connection (only with `maxActiveConns`).
    waiters: RefCell<VecDeque<Waker>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.settings.endpoint)
            .field("open", &self.open.get())
            .finish()
    }
}

/// A connection taken from the pool; handed back on [`Lease::done`], or
/// closed (and its place freed) when dropped, e.g. with a cancelled request.
struct Lease<'a> {
    client: &'a Client,
    conn: Option<Conn>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.client.idle.borrow_mut();
            if idle.len() < self.client.settings.pool_size.max(1) {
                idle.push(conn);
                drop(idle);
                self.client.wake_waiters();
                return;
            }
        }
        self.client.open.set(self.client.open.get() - 1);
        self.client.wake_waiters();
    }
}

impl Client {
    pub fn new(settings: Arc<Settings>) -> Rc<Client> {
        Rc::new_cyclic(|me| Client {
            settings,
            me: me.clone(),
            filling: Cell::new(0),
            idle: RefCell::default(),
            open: Cell::new(0),
            waiters: RefCell::default(),
        })
    }

    /// Starts dials (each its own task on the worker, not the request's)
    /// until idle and dialing connections reach `minIdleConns`, as go-redis'
    /// `checkMinIdleConns` after a connection is taken or closed; within
    /// `maxActiveConns` and `poolSize`.
    fn top_up(&self) {
        let s = &*self.settings;
        let want = s.min_idle.min(s.pool_size.max(1));
        while self.idle.borrow().len() + self.filling.get() < want
            && (s.max_active == 0 || self.open.get() < s.max_active)
        {
            self.open.set(self.open.get() + 1);
            self.filling.set(self.filling.get() + 1);
            let me = self.me.clone();
            monoio::spawn(async move {
                let Some(client) = me.upgrade() else {
                    return;
                };
                let dialed = client.dial().await;
                client.filling.set(client.filling.get() - 1);
                // A failed dial gives its place back; the next command dials
                // (and reports) for itself rather than this task retrying.
                let mut lease = Lease {
                    client: &client,
                    conn: dialed.ok(),
                };
                if let Some(conn) = lease.conn.as_mut() {
                    conn.reused = true;
                }
                drop(lease);
            });
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.settings.endpoint
    }

    /// Sends one command and reads its reply. A pooled connection that fails
    /// before any reply byte came (the server restarted since) is retried
    /// once on a fresh one.
    pub async fn call(&self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        self.call_on_one(false, args).await
    }

    /// [`Client::call`] after `ASKING` on the same connection (a Redis
    /// Cluster's `-ASK` redirect: the slot is being imported here).
    pub async fn call_asking(&self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        self.call_on_one(true, args).await
    }

    async fn call_on_one(&self, asking: bool, args: &[&[u8]]) -> Result<Reply, RedisError> {
        let mut lease = self.lease().await?;
        let mut conn = lease.conn.take().expect("a lease holds a connection");
        let first = send(&self.settings, &mut conn, asking, args).await;
        match first {
            Ok(reply) => {
                lease.conn = Some(conn);
                return Ok(reply);
            }
            Err(e) => {
                self.forget_idle();
                if !conn.reused || !stale(&e, &conn) {
                    return Err(e);
                }
            }
        }
        // `lease` (now empty) still holds the place of the failed connection.
        let mut conn = self.dial().await?;
        let reply = send(&self.settings, &mut conn, asking, args).await;
        if reply.is_ok() {
            lease.conn = Some(conn);
        }
        reply
    }

    /// An idle connection, a new one, or (at `maxActiveConns`) the next one
    /// handed back.
    async fn lease(&self) -> Result<Lease<'_>, RedisError> {
        self.top_up();
        let wait_until = self
            .settings
            .read_timeout
            .map(|t| Instant::now() + t + POOL_WAIT_EXTRA);
        loop {
            // Popped first: `leased` tops the idle list up again.
            let popped = self.idle.borrow_mut().pop();
            if let Some(conn) = popped {
                return Ok(self.leased(conn));
            }
            let max = self.settings.max_active;
            if max == 0 || self.open.get() < max {
                self.open.set(self.open.get() + 1);
                // The place is taken before the dial; a failed dial frees it.
                let mut lease = Lease {
                    client: self,
                    conn: None,
                };
                lease.conn = Some(self.dial().await?);
                return Ok(lease);
            }
            let freed = std::future::poll_fn(|cx| {
                if !self.idle.borrow().is_empty() || self.open.get() < max {
                    return Poll::Ready(());
                }
                self.waiters.borrow_mut().push_back(cx.waker().clone());
                Poll::Pending
            });
            if io::until(wait_until, freed).await.is_err() {
                return Err(RedisError::PoolTimeout(self.settings.endpoint.clone()));
            }
        }
    }

    fn leased(&self, mut conn: Conn) -> Lease<'_> {
        conn.reused = true;
        self.top_up();
        Lease {
            client: self,
            conn: Some(conn),
        }
    }

    /// Wakes every waiting command (a woken one that finds nothing free
    /// waits again; a timed-out one's waker is harmless).
    fn wake_waiters(&self) {
        let waiting = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiting {
            w.wake();
        }
    }

    /// Closes every idle connection: when one failed, its siblings most
    /// likely lost the same server.
    fn forget_idle(&self) {
        let n = self.idle.borrow_mut().drain(..).count();
        self.open.set(self.open.get() - n);
        if n > 0 {
            self.wake_waiters();
        }
    }

    /// Connects and authenticates (`AUTH`, `SELECT` as configured).
    async fn dial(&self) -> Result<Conn, RedisError> {
        let s = &*self.settings;
        let addr = match &s.addr {
            Ok(a) => *a,
            Err(why) => return Err(RedisError::Unresolved(s.endpoint.clone(), why.clone())),
        };
        let up = upstream::dial_tls(addr, s.dial_timeout, s.tls.as_deref())
            .await
            .map_err(|e| RedisError::Dial(s.endpoint.clone(), e))?;
        let mut conn = Conn {
            stream: up.stream,
            buf: Vec::with_capacity(READ_CHUNK),
            out: Vec::with_capacity(256),
            reused: false,
        };
        if !s.password.is_empty() || !s.username.is_empty() {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if !s.username.is_empty() {
                args.push(s.username.as_bytes());
            }
            args.push(s.password.as_bytes());
            expect_ok(s, exchange(s, &mut conn, &args).await?, "AUTH")?;
        }
        if s.db != 0 {
            let db = itoa::Buffer::new().format(s.db).to_owned();
            let reply = exchange(s, &mut conn, &[b"SELECT", db.as_bytes()]).await?;
            expect_ok(s, reply, "SELECT")?;
        }
        Ok(conn)
    }
}

/// Whether a pooled connection's failure looks like one the server closed
/// while it was idle (nothing came back, and not a timeout): then a fresh
/// connection is worth one more try.
fn stale(e: &RedisError, conn: &Conn) -> bool {
    let broken = matches!(e, RedisError::Closed(_) | RedisError::Io(_, IoFail::Io(_)));
    broken && conn.buf.is_empty()
}

fn expect_ok(s: &Settings, reply: Reply, what: &'static str) -> Result<(), RedisError> {
    match reply {
        Reply::Simple(_) => Ok(()),
        other => {
            let text = match other {
                Reply::Error(e) => String::from_utf8_lossy(&e).into_owned(),
                r => format!("unexpected reply {r:?}"),
            };
            Err(RedisError::Refused(s.endpoint.clone(), what, text))
        }
    }
}

/// `args` on `conn`, after `ASKING` when `asking`.
async fn send(
    s: &Settings,
    conn: &mut Conn,
    asking: bool,
    args: &[&[u8]],
) -> Result<Reply, RedisError> {
    if asking {
        expect_ok(s, exchange(s, conn, &[b"ASKING"]).await?, "ASKING")?;
    }
    exchange(s, conn, args).await
}

/// Writes one command and reads one reply, within the timeouts.
async fn exchange(s: &Settings, conn: &mut Conn, args: &[&[u8]]) -> Result<Reply, RedisError> {
    let fail = |e| RedisError::Io(s.endpoint.clone(), e);
    conn.out.clear();
    resp::encode(&mut conn.out, args);
    let deadline = s.write_timeout.map(|t| Instant::now() + t);
    io::write_vec(&mut conn.stream, &mut conn.out, deadline)
        .await
        .map_err(fail)?;
    conn.buf.clear();
    let deadline = s.read_timeout.map(|t| Instant::now() + t);
    loop {
        match resp::parse(&conn.buf) {
            Ok(Some((reply, used))) if used == conn.buf.len() => return Ok(reply),
            // Bytes past the reply: this client sent one command, so the
            // stream is out of step and the connection unusable.
            Ok(Some(_)) => return Err(RedisError::OutOfStep(s.endpoint.clone())),
            Ok(None) => {}
            Err(e) => return Err(RedisError::Protocol(s.endpoint.clone(), e)),
        }
        if !io::reserve_up_to(&mut conn.buf, READ_CHUNK, MAX_REPLY) {
            return Err(RedisError::TooLong(s.endpoint.clone()));
        }
        let n = io::read_some(&mut conn.stream, &mut conn.buf, MAX_REPLY, deadline)
            .await
            .map_err(fail)?;
        if n == 0 {
            return Err(RedisError::Closed(s.endpoint.clone()));
        }
    }
}

#[cfg(test)]
#[path = "redis_client_tests.rs"]
mod tests;
