//! Mirroring's copies: after the client's exchange is over, each mirror
//! chosen for the request gets the request as it went to the main server,
//! from a task of its own on this worker, with `Connection: close`; its answer
//! is read and thrown away. Nothing of it reaches the client or delays it.
//!
//! Memory stays bounded: a copy exists only for a request whose body came
//! whole with its head (and within `maxBodySize`), a copy is read through
//! one 16 KiB buffer, each is bounded in time, and a worker runs at most
//! [`MAX_IN_FLIGHT`] of them (more are dropped, logged at debug).

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{Mirroring, ServiceKind};
use crate::http::codec::{BodyKind, RequestHead};
use crate::net::upstream;
use crate::runtime::io;
use crate::worker::view::{Runtime, View};

/// Copies in flight per worker, at most.
pub const MAX_IN_FLIGHT: usize = 256;
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
        // Copies go out in plaintext HTTP/1.1, to a resolved address.
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
        };
        monoio::spawn(copy.run(request.clone()));
    }
}

struct Copy {
    addr: SocketAddr,
    dial: Duration,
    read: Option<Duration>,
}

impl Copy {
    async fn run(self, mut request: Vec<u8>) {
        IN_FLIGHT.set(IN_FLIGHT.get() + 1);
        let _left = Left;
        let end = Instant::now() + MAX_TIME;
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
