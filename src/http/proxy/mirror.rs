//! Mirroring's copies: after the client's exchange is over, each mirror
//! chosen for the request gets the request as it went to the main server,
//! from a task of its own on this worker, with `Connection: close` (to an
//! `h2c://` server: as a stream on this worker's HTTP/2 connections to it,
//! `upstream_h2::copy`); its answer is read and thrown away. Nothing of it
//! reaches the client or delays it.
//!
//! The copy is taken as the request goes to the main server ([`Tee`]): the
//! head, and the body as it is written (streamed bodies too), never delaying
//! it. Memory stays bounded: a body past `maxBodySize` (or
//! [`MAX_STREAMED_COPY`] when that is negative) stops being copied and the
//! request is not mirrored, a copy is read through one 16 KiB buffer, each is
//! bounded in time, and a worker runs at most [`MAX_IN_FLIGHT`] of them (more
//! are dropped, logged at debug).

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::upstream_h2;
use crate::config::{Mirroring, ServersTransport, ServiceKind};
use crate::http::codec::{BodyKind, RequestHead};
use crate::net::upstream;
use crate::runtime::io;
use crate::worker::view::{Runtime, View};

/// Copies in flight per worker, at most.
pub const MAX_IN_FLIGHT: usize = 256;
/// The largest body copied for mirrors when `maxBodySize` is negative (no
/// limit of Traefik's): proxyd never holds an unbounded copy.
pub const MAX_STREAMED_COPY: u64 = 4 * 1024 * 1024;
/// The longest a copy may take, whatever its transport allows.
const MAX_TIME: Duration = Duration::from_secs(60);
const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    static IN_FLIGHT: Cell<usize> = const { Cell::new(0) };
}

/// The mirrors chosen for one request (ids of load balancers).
pub struct Mirrored<'v> {
    pub def: &'v Mirroring,
    pub picks: Vec<usize>,
    pub view: &'v View,
}

/// Whether a request can be copied at all (upgrades and CONNECT cannot).
pub fn eligible(head: &RequestHead) -> bool {
    !head.upgrade && !head.is_connect
}

/// The mirrors' copy of one request, taken while it goes to the main server:
/// its head and body bytes as written (chunked framing included), up to a
/// bound; `None` once the body went past it or did not go out whole.
pub struct Tee {
    bytes: Option<Vec<u8>>,
    /// Most body bytes kept.
    limit: u64,
    head_len: usize,
}

impl Tee {
    pub fn new(def: &Mirroring) -> Tee {
        let limit = match (def.mirror_body, def.max_body_size) {
            (false, _) => 0,
            (true, n) if n < 0 => MAX_STREAMED_COPY,
            (true, n) => (n as u64).min(MAX_STREAMED_COPY),
        };
        Tee {
            bytes: Some(Vec::new()),
            limit,
            head_len: 0,
        }
    }

    /// A new attempt wrote `written` (its head, and its body when that came
    /// whole with it): the copy starts over from it.
    pub fn start(&mut self, written: &[u8]) {
        let bytes = self.bytes.get_or_insert_with(Vec::new);
        bytes.clear();
        bytes.extend_from_slice(written);
        self.head_len = written
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(written.len(), |end| end + 4);
        if (written.len() - self.head_len) as u64 > self.limit {
            self.bytes = None;
        }
    }

    /// Body bytes on their way to the main server.
    pub fn body(&mut self, chunk: &[u8]) {
        let Some(bytes) = &mut self.bytes else { return };
        if (bytes.len() - self.head_len + chunk.len()) as u64 > self.limit {
            log::debug!("not mirrored: its body is past {} bytes", self.limit);
            self.bytes = None;
            return;
        }
        bytes.extend_from_slice(chunk);
    }

    /// The body did not go out whole: nothing to mirror.
    pub fn spoil(&mut self) {
        self.bytes = None;
    }

    /// The whole request, if it could be copied.
    pub fn take(self) -> Option<Vec<u8>> {
        self.bytes.filter(|b| !b.is_empty())
    }
}

/// Sends `request` (head and whole body, as written to the main server) to
/// one server of each chosen mirror, unless its body breaks the rules.
pub fn send(m: Mirrored<'_>, mut request: Vec<u8>, head: &RequestHead, client: &str) {
    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let body = request.len() - (end + 4);
    let declared = !matches!(head.body, BodyKind::None);
    let limit = m.def.max_body_size;
    if declared && (!m.def.mirror_body || (limit >= 0 && body as u64 > limit as u64)) {
        log::debug!("not mirrored: its body is not to be copied ({body} bytes)");
        return;
    }
    request.splice(end + 2..end + 2, b"Connection: close\r\n".iter().copied());
    for &id in &m.picks {
        let state = &m.view.services[id];
        let (Runtime::LoadBalancer(b), ServiceKind::LoadBalancer(lb)) =
            (&state.runtime, &state.def.kind)
        else {
            continue;
        };
        let Some(index) = b.pick(lb, client, |i| lb.server_up(i)).map(|p| p.index) else {
            continue;
        };
        if IN_FLIGHT.get() >= MAX_IN_FLIGHT {
            log::debug!(
                "not mirrored to {}: {MAX_IN_FLIGHT} copies in flight",
                state.def.name
            );
            continue;
        }
        // Copies go out in plaintext (HTTP/1.1, or HTTP/2 to h2c://
        // servers), to a resolved address.
        let server = &lb.servers[index];
        let (None, Some(addr)) = (&server.tls, server.addr.get()) else {
            log::debug!("not mirrored to {}: https or unresolved", server.url);
            continue;
        };
        let t = &lb.transport;
        let copy = Copy {
            addr,
            dial: t.dial_timeout,
            read: t.read_timeout,
            h2c: server.h2c.then(|| t.clone()),
        };
        monoio::spawn(copy.run(request.clone()));
    }
}

struct Copy {
    addr: SocketAddr,
    dial: Duration,
    read: Option<Duration>,
    /// The server's transport, for an `h2c://` server.
    h2c: Option<ServersTransport>,
}

impl Copy {
    async fn run(self, mut request: Vec<u8>) {
        IN_FLIGHT.set(IN_FLIGHT.get() + 1);
        let _left = Left;
        let end = Instant::now() + MAX_TIME;
        if let Some(t) = &self.h2c {
            let sent = upstream_h2::copy::send(self.addr, t, request, end, self.read).await;
            if let Err(e) = sent {
                log::debug!("mirror copy to h2c://{} failed: {e}", self.addr);
            }
            return;
        }
        let Ok(mut up) = upstream::dial(self.addr, self.dial).await else {
            return;
        };
        if io::write_vec(&mut up.stream, &mut request, Some(end))
            .await
            .is_err()
        {
            return;
        }
        drop(request);
        let mut buf = Vec::with_capacity(READ_CHUNK);
        loop {
            buf.clear();
            let deadline = self.read.map_or(end, |r| end.min(Instant::now() + r));
            match io::read_some(&mut up.stream, &mut buf, READ_CHUNK, Some(deadline)).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

/// Counts a copy out however its task ends.
struct Left;

impl Drop for Left {
    fn drop(&mut self) {
        IN_FLIGHT.set(IN_FLIGHT.get().saturating_sub(1));
    }
}
