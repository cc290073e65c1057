//! HTTP/2 from clients (RFC 9113): over TLS when ALPN agreed `h2`, and h2c with
//! prior knowledge on plaintext entry points (the connection preface, seen in
//! the accept path's peek). The `h2` crate is the codec and the connection
//! state machine; it runs over monoio's poll-io sockets (`io`) on the worker's
//! own runtime, the connection in the accepting task and each stream in a
//! local task of its own (`monoio::spawn`): nothing leaves the worker.
//!
//! Each stream is one request for the same pipeline as HTTP/1.1 (`stream`):
//! routing, middlewares, local answers and `http::proxy::forward` to the
//! HTTP/1.1 upstreams through the `Downstream` seam (`downstream`).
//!
//! The limits against HTTP/2's known attacks are set here, explicitly, as
//! `DEFAULT_*` constants (docs/configuration.md, "HTTP/2").

use std::cell::Cell;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::net::client_certs::ClientCerts;
use crate::net::ip_text::IpText;
use crate::worker::admission::{ConnGuard, OpenGuard};
use crate::worker::{EntryCtx, Held, WorkerCtx};

mod answers;
mod body_out;
mod buffered;
mod compressed;
mod downstream;
pub mod flood;
mod forward_auth;
mod grpc_web;
mod head;
pub mod io;
mod keep;
mod record;
pub mod request_body;
mod send;
mod stream;
mod trailers;

/// The client connection preface (RFC 9113 §3.4) that starts h2c with prior
/// knowledge.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Each stream's receive window: request body bytes a client may send ahead
/// of the upstream taking them (Go's server allows 1 MiB per stream).
pub const DEFAULT_STREAM_WINDOW: u32 = 256 * 1024;
/// The connection's receive window: all streams' unread request body bytes
/// together, so one connection buffers at most this much.
pub const DEFAULT_CONNECTION_WINDOW: u32 = 1024 * 1024;
/// Response bytes queued per stream before the stream waits for the client's
/// window (h2's own default is 400 KiB).
pub const DEFAULT_SEND_BUFFER: usize = 64 * 1024;
/// Streams a client may open and reset before they are accepted (rapid reset,
/// CVE-2023-44487): past it the connection ends with GOAWAY ENHANCE_YOUR_CALM.
pub const DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams proxyd may reset for the client's protocol errors before the
/// connection ends with GOAWAY ENHANCE_YOUR_CALM (the "MadeYouReset" variant).
pub const DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
/// Streams this side reset whose late frames are still ignored quietly.
pub const DEFAULT_MAX_CONCURRENT_RESET_STREAMS: usize = 10;
/// Rapid reset seen from proxyd's side: streams the client reset while they
/// were being served. Past this many in [`RESET_WINDOW`], GOAWAY.
pub const DEFAULT_MAX_CLIENT_RESETS: u32 = 200;
const RESET_WINDOW: Duration = Duration::from_secs(10);
/// How long a stream may wait for the client's flow-control window when the
/// entry point sets no `writeTimeout` (nginx's `send_timeout` default): a
/// client that never opens its window (a zero-window stall) would otherwise
/// hold the stream and its upstream connection forever.
pub const DEFAULT_WINDOW_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What every stream of one connection shares (worker-local).
pub(crate) struct Shared {
    pub peer: SocketAddr,
    pub ep: Rc<EntryCtx>,
    pub w: Rc<WorkerCtx>,
    pub tls: bool,
    /// The client's certificate chain (TLS with a client certificate).
    pub client_certs: Option<Rc<ClientCerts>>,
    pub trusted: bool,
    pub client_ip: IpText,
    /// Streams being served, and when the last one ended (idle timeout).
    pub active: Cell<usize>,
    pub last_end: Cell<Instant>,
    /// Streams the client reset mid-request, in the current window.
    pub resets: Cell<u32>,
    pub resets_since: Cell<Instant>,
}

impl Shared {
    /// The bound on each wait for the client's window: `writeTimeout`, or
    /// [`DEFAULT_WINDOW_STALL_TIMEOUT`] without one.
    pub fn window_timeout(&self) -> Duration {
        self.ep
            .cfg
            .write_timeout
            .unwrap_or(DEFAULT_WINDOW_STALL_TIMEOUT)
    }

    /// Counts a stream the client reset; true when there were too many.
    pub fn client_reset(&self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.resets_since.get()) > RESET_WINDOW {
            self.resets_since.set(now);
            self.resets.set(0);
        }
        self.resets.set(self.resets.get() + 1);
        self.resets.get() > DEFAULT_MAX_CLIENT_RESETS
    }
}

fn builder(ep: &crate::config::EntryPoint) -> h2::server::Builder {
    let mut b = h2::server::Builder::new();
    b.max_concurrent_streams(ep.http2_max_streams)
        .header_table_size(ep.http2_decoder_table)
        // HPACK bombs and CONTINUATION floods: the decoded field list is bounded
        // by the same maxHeaderBytes as an HTTP/1.1 head (as Go's server does).
        .max_header_list_size(u32::try_from(ep.max_header_bytes).unwrap_or(u32::MAX))
        .initial_window_size(DEFAULT_STREAM_WINDOW)
        .initial_connection_window_size(DEFAULT_CONNECTION_WINDOW)
        .max_send_buffer_size(DEFAULT_SEND_BUFFER)
        .max_pending_accept_reset_streams(DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(Some(DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS))
        .max_concurrent_reset_streams(DEFAULT_MAX_CONCURRENT_RESET_STREAMS);
    b
}

/// Serves one HTTP/2 connection until it closes: the client's GOAWAY or close,
/// `idleTimeout` without a stream, or a stop (graceful GOAWAY, then the
/// streams in flight finish). `tls`: `None` for h2c; over TLS, the client's
/// certificate chain if it sent one.
pub async fn serve<T>(
    io: T,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    tls: Option<Option<Rc<ClientCerts>>>,
    open: OpenGuard,
) where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let _held = Held {
        open,
        observed: ConnGuard::new(&w, ep.index),
    };
    let wire = Rc::new(flood::Tripwire::default());
    let io = flood::Guarded::new(io, wire.clone());
    // The preface and first SETTINGS come within readTimeout, as a head would.
    let deadline = ep.cfg.read_timeout.map(|d| Instant::now() + d);
    let mut conn =
        match crate::runtime::clock::until(deadline, builder(&ep.cfg).handshake::<_, Bytes>(io))
            .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return log::debug!("HTTP/2 handshake with {peer} failed: {e}"),
            Err(_) => return log::debug!("HTTP/2 handshake with {peer} timed out"),
        };
    let trusted = crate::http::server::trusted(&ep.cfg, peer);
    let now = Instant::now();
    let shared = Rc::new(Shared {
        peer,
        client_ip: IpText::new(peer.ip().to_canonical()),
        ep,
        w: w.clone(),
        tls: tls.is_some(),
        client_certs: tls.flatten(),
        trusted,
        active: Cell::new(0),
        last_end: Cell::new(now),
        resets: Cell::new(0),
        resets_since: Cell::new(now),
    });
    let idle = shared.ep.cfg.idle_timeout;
    // The idle check's period: a fraction of idleTimeout, so it ends close to it.
    let tick = idle.map_or(Duration::from_secs(1), |d| {
        (d / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    });
    let mut draining = false;
    loop {
        let stop = async {
            if draining {
                std::future::pending::<()>().await
            }
            shared.w.shutdown.wait().await
        };
        let flood = async {
            if draining {
                std::future::pending::<()>().await
            }
            wire.tripped().await
        };
        let accepted = monoio::select! {
            r = conn.accept() => r,
            _ = stop => {
                // A stop: GOAWAY, then serve what is in flight.
                conn.graceful_shutdown();
                draining = true;
                continue;
            }
            _ = flood => {
                log::info!("HTTP/2 client {peer} sent too many PING/SETTINGS frames: GOAWAY");
                conn.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
                draining = true;
                continue;
            }
            _ = monoio::time::sleep(tick) => {
                if draining {
                    continue;
                }
                if shared.resets.get() > DEFAULT_MAX_CLIENT_RESETS {
                    log::info!("HTTP/2 client {peer} reset too many streams: GOAWAY");
                    conn.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
                    draining = true;
                } else if idle.is_some_and(|d| shared.active.get() == 0 && shared.last_end.get().elapsed() >= d) {
                    conn.graceful_shutdown();
                    draining = true;
                }
                continue;
            }
        };
        match accepted {
            Some(Ok((req, respond))) => {
                // Boxed first: the stream's future is large (the whole
                // forwarding path, ~11 KB), and `spawn` moves its argument
                // through several frames before it lands in the task; a box
                // is moved instead, the future copied once.
                monoio::spawn(Box::pin(stream::serve(req, respond, shared.clone())));
            }
            Some(Err(e)) => {
                log::debug!("HTTP/2 connection from {peer} ended: {e}");
                break;
            }
            None => break,
        }
    }
    // Sends what is queued (GOAWAY included) before the socket closes.
    let flush = poll_fn(|cx| conn.poll_closed(cx));
    let _ =
        crate::runtime::clock::until(Some(Instant::now() + Duration::from_secs(1)), flush).await;
}
