//! The client side of an HTTP/1.1 connection: read a head within the entry point's
//! timeouts, route it, hand it to its service, then keep the connection alive or
//! close it. Every failure is answered through the one status map in `http::error`.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use monoio::io::Canceller;
use monoio::net::TcpStream;

use crate::http::codec::{HeadParser, HeaderSpan, RequestHead};
use crate::http::error::ProxyError;
use crate::http::proxy;
use crate::middleware::Flow;
use crate::net::ip_text::IpText;
use crate::net::tunnel;
use crate::net::upstream::UpstreamConn;
use crate::router::{HeaderLookup, RequestInfo};
use crate::runtime::panic::CatchUnwind;
use crate::worker::{EntryCtx, Held, Spot, WorkerCtx};

/// How long a quiet keep-alive connection keeps its read posted (and its request
/// state allocated) before it parks with only its socket. A busy client's next
/// request comes well within it, so the hot path never parks; a client that is
/// quiet longer than this is slow enough that parking (a readiness wait and a
/// fresh state, about a microsecond) costs nothing noticeable, and it keeps the
/// memory of many idle connections close to nginx's.
const IDLE_HOLD: std::time::Duration = std::time::Duration::from_millis(50);
/// An idle connection's read buffer: small, so 10k idle clients cost little.
pub const CLIENT_BUF_SIZE: usize = 4 * 1024;
/// Request bodies up to this size that arrived with the head are sent upstream in
/// the same write as the head.
pub const INLINE_BODY_MAX: usize = 16 * 1024;

pub use crate::net::client_io::{ClientIo, IdleRead};

/// What happens to the connection after a request.
pub enum Outcome {
    KeepAlive,
    Close,
    /// The upstream switched protocols: copy bytes both ways from now on.
    Tunnel(UpstreamConn),
}

/// How much of the current request the connection has consumed from its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqState {
    /// Head and body still in (or still to come into) the buffer.
    Untouched,
    /// Head and body fully consumed; the buffer starts at the next request.
    Consumed,
    /// Part of the body is gone: the connection cannot be reused.
    Broken,
}

pub struct Conn<S> {
    pub io: S,
    /// Unprocessed input; always starts at the current message.
    pub buf: Vec<u8>,
    /// Reused output buffer for heads and small responses.
    pub out: Vec<u8>,
    pub headers: Vec<HeaderSpan>,
    pub resp_headers: Vec<HeaderSpan>,
    pub parser: HeadParser,
    pub peer: SocketAddr,
    pub ep: Rc<EntryCtx>,
    pub w: Rc<WorkerCtx>,
    pub tls: bool,
    pub req: ReqState,
    /// Some response bytes went out: an error can no longer become a status.
    pub response_started: bool,
    /// What this request did, for metrics and the access log.
    pub rec: crate::observe::Record,
    /// The view the current request was routed with (router and service ids in
    /// `rec` index its snapshot); dropped when the request ends.
    pub routed: Option<Rc<crate::worker::view::View>>,
    /// What the router's middlewares changed or answered (cleared per request).
    pub edits: crate::middleware::Edits,
    /// Bytes of a request sent whole with its head, kept at the front of
    /// `buf` while a `retry` middleware may send it again.
    pub kept_for_retry: usize,
    /// The request body a `buffering` middleware read whole (`buffered`);
    /// dropped, with its temporary file, when forwarding ends.
    pub spool: Option<crate::http::spool::Spool>,
    /// Whether the request is kept whole for another attempt on the
    /// upstream's answer (`buffered::keep_request`).
    pub kept: crate::http::downstream::Kept,
    /// Reused by local answers whose body or headers are built per request
    /// (whoami's page, a redirect's Location).
    scratch: Vec<u8>,
    /// Reused by every quiet-able idle read (see `ClientIo::read_or_quiet`).
    canceller: Canceller,
    /// The peer's address as text (`X-Forwarded-For`, `X-Real-Ip`).
    pub client_ip: IpText,
    /// The peer may set its own `X-Forwarded-*` headers (`forwardedHeaders`).
    pub trusted: bool,
    /// The mTLS client certificate chain, taken once from the TLS stream.
    pub client_certs: Option<std::rc::Rc<crate::net::client_certs::ClientCerts>>,
}

/// Counts a connection as open for as long as it lives (graceful stop waits for 0)
/// and holds its place under `maxConnections`; defined where connections are admitted.
pub use crate::worker::admission::OpenGuard;

/// Serves requests on one client connection until it closes.
pub async fn serve<S: ClientIo>(
    io: S,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    tls: bool,
    open: OpenGuard,
) {
    let initial = Vec::with_capacity(CLIENT_BUF_SIZE);
    serve_with(io, initial, peer, ep, w, tls, open).await
}

/// A keep-alive connection that went quiet: only its socket is kept while it
/// waits, not the connection's buffers and request state.
pub struct Parked<S> {
    pub io: S,
    /// When the idle timeout closes it.
    pub deadline: Option<Instant>,
}

/// [`serve`], starting from bytes already read (the accept path's peek).
pub async fn serve_with<S: ClientIo>(
    io: S,
    initial: Vec<u8>,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    tls: bool,
    open: OpenGuard,
) {
    let held = Held {
        open,
        observed: crate::worker::admission::ConnGuard::new(&w, ep.index),
    };
    let spot = Spot {
        peer,
        ep,
        deadline: None,
        held,
    };
    serve_spot(io, initial, spot, w, tls).await
}

/// A parked connection that turned readable, in a task of its own again.
pub async fn resume(io: TcpStream, spot: Spot, w: Rc<WorkerCtx>) {
    serve_spot(io, Vec::with_capacity(CLIENT_BUF_SIZE), spot, w, false).await
}

/// Alternates between serving (a boxed, several-KiB state with buffers) and, once
/// the client has been quiet for a while, parking with nothing but the socket:
/// in the worker's parking lot (the task ends), or where a transport cannot be
/// parked there, in this task.
async fn serve_spot<S: ClientIo>(
    io: S,
    initial: Vec<u8>,
    mut spot: Spot,
    w: Rc<WorkerCtx>,
    tls: bool,
) {
    let (mut io, mut buf) = (io, initial);
    loop {
        let (peer, ep) = (spot.peer, spot.ep.clone());
        let active = serve_active(io, buf, peer, ep, w.clone(), tls);
        let parked = match Box::pin(active).await {
            End::Park(parked) => parked,
            End::Close(io) => return Box::pin(io.close()).await,
            End::Tunneled => return,
        };
        spot.deadline = parked.deadline;
        (io, spot) = match parked.io.park(&w.parking, spot) {
            None => {
                w.trimmer.released();
                return;
            }
            Some(back) => back,
        };
        let shutdown = w.shutdown.clone();
        // `clock::until` directly, not the `io::until` wrapper: this state is what
        // every connection parked in its task keeps, so its size matters.
        let woke = monoio::select! {
            r = crate::runtime::clock::until(spot.deadline, io.wait_readable()) => r.is_ok(),
            _ = shutdown.wait() => false,
        };
        if !woke {
            // Boxed: this task's state while parked stays as small as it was.
            return Box::pin(io.close()).await;
        }
        buf = Vec::with_capacity(CLIENT_BUF_SIZE);
    }
}

/// How [`serve_active`] stopped serving.
enum End<S> {
    /// Quiet: wait for the next request with only the socket.
    Park(Parked<S>),
    /// Done with this connection: close it (`ClientIo::close`).
    Close(S),
    /// It became a tunnel, which has ended (and closed both sides).
    Tunneled,
}

/// Serves requests until the connection ends or parks.
async fn serve_active<S: ClientIo>(
    io: S,
    initial: Vec<u8>,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    tls: bool,
) -> End<S> {
    let trusted = trusted(&ep.cfg, peer);
    let client_certs = io.client_certs();
    let mut c = Conn {
        io,
        buf: initial,
        out: Vec::new(),
        headers: Vec::new(),
        resp_headers: Vec::new(),
        parser: HeadParser::new(),
        peer,
        ep,
        w,
        tls,
        req: ReqState::Untouched,
        response_started: false,
        rec: Default::default(),
        routed: None,
        edits: Default::default(),
        kept_for_retry: 0,
        spool: None,
        kept: Default::default(),
        scratch: Vec::new(),
        canceller: Canceller::new(),
        client_ip: IpText::new(peer.ip().to_canonical()),
        trusted,
        client_certs,
    };
    loop {
        // Nothing of the next request's answer is out yet: a head that fails
        // to parse must still get its 400 (or 408, 431).
        c.response_started = false;
        let head = match c.read_head().await {
            Ok(head) => head,
            Err(NoHead::Fail(e)) => {
                c.req = ReqState::Broken;
                c.fail(None, e).await;
                return End::Close(c.io);
            }
            Err(NoHead::Park(deadline)) => {
                return End::Park(Parked { io: c.io, deadline });
            }
            Err(NoHead::Closed) => return End::Close(c.io),
        };
        c.req = ReqState::Untouched;
        c.begin_record(&head);
        let outcome = CatchUnwind::new(c.handle(&head)).await;
        // A tunnel (WebSocket) is still its request for inFlightReq, as in
        // Traefik: the places it holds are given back when the tunnel ends.
        let _tunnel_held = match &outcome {
            Ok(Outcome::Tunnel(_)) => Some(c.edits.take_held()),
            _ => None,
        };
        if outcome.is_ok() {
            c.finish_record();
        }
        match outcome {
            Ok(Outcome::KeepAlive) if !c.w.shutdown.is_fired() => {
                // A body streamed through may have grown the buffer: an idle
                // keep-alive connection goes back to the small one.
                c.buf.shrink_to(CLIENT_BUF_SIZE);
            }
            Ok(Outcome::Tunnel(up)) => {
                Box::pin(tunnel::run(c.io, c.buf, up)).await;
                return End::Tunneled;
            }
            Ok(_) => return End::Close(c.io),
            Err(()) => {
                log::error!(
                    "panic while handling a request from {}: answered 500",
                    c.peer
                );
                c.req = ReqState::Broken;
                c.fail(None, ProxyError::Internal("panic")).await;
                c.finish_record();
                return End::Close(c.io);
            }
        }
    }
}

/// Whether a client may set its own `X-Forwarded-*` headers.
pub(crate) fn trusted(cfg: &crate::config::EntryPoint, peer: SocketAddr) -> bool {
    let ip = peer.ip().to_canonical();
    cfg.forwarded_insecure || cfg.trusted_ips.iter().any(|net| net.contains(&ip))
}

mod acme;
mod answers;
mod body_limit;
mod buffered;
mod chain;
mod compressed;
mod downstream;
mod errors;
mod forward_auth;
mod grpc_web;
mod local;
mod observed;
mod read_head;

use read_head::NoHead;

impl<S: ClientIo> Conn<S> {
    async fn handle(&mut self, head: &RequestHead) -> Outcome {
        if head.is_connect {
            // proxyd is a reverse proxy: it does not open tunnels for clients.
            let err = ProxyError::NotImplemented("CONNECT");
            return self.fail(Some(head), err).await;
        }
        if let Some(out) = self.acme_http01(head).await {
            return out;
        }
        if body_limit::declared_too_large(head, &self.ep.cfg) {
            return self.refuse_large_body(head).await;
        }
        let view = self.w.view();
        let found = {
            let lookup = HeaderView {
                buf: &self.buf,
                headers: &self.headers,
            };
            let info = request_info(head, &self.buf, &lookup, self.peer, self.tls, self.trusted);
            // Routers with `tls` serve TLS connections only, the others plaintext only.
            let tables = match self.tls {
                true => &view.snapshot.tls_tables,
                false => &view.snapshot.tables,
            };
            tables[self.ep.index].find(&info)
        };
        let Some(id) = found else {
            return self.fail(Some(head), ProxyError::NoRoute).await;
        };
        self.rec.route(id);
        self.routed = Some(view.clone());
        let router = &view.snapshot.routers[id as usize];
        match self.run_chain(head, &view, router).await {
            Ok(Flow::Answer) => return self.answer_from_chain(head).await,
            Err(answered) => return answered,
            Ok(_) => {}
        }
        match proxy::serve(self, head, &view, router.service).await {
            proxy::Served::Done(outcome) => outcome,
            proxy::Served::Local(service) => self.answer_locally(head, &view, &service).await,
        }
    }
}

/// The protocol-neutral view of the request whose head is in `buf`: what routers
/// match on and middlewares read.
fn request_info<'a>(
    head: &RequestHead,
    buf: &'a [u8],
    headers: &'a HeaderView<'a>,
    peer: SocketAddr,
    tls: bool,
    forwarded_trusted: bool,
) -> RequestInfo<'a> {
    RequestInfo {
        method: head.method.get(buf),
        host: head.host.get(buf),
        path: head.path.get(buf),
        query: head.query.get(buf),
        client_ip: peer.ip().to_canonical(),
        headers,
        tls,
        forwarded_trusted,
        client_certs: None,
    }
}

/// Router access to request headers by name, over the parsed spans.
struct HeaderView<'a> {
    buf: &'a [u8],
    headers: &'a [HeaderSpan],
}

impl HeaderLookup for HeaderView<'_> {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.headers
            .iter()
            .filter(|h| h.name.get(self.buf).eq_ignore_ascii_case(name.as_bytes()))
            .any(|h| f(h.value.get(self.buf)))
    }
}
