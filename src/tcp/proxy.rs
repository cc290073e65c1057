//! Forwarding a TCP connection to a TCP service: pick a server (weighted round
//! robin, per worker), dial it (in its own task: monoio 0.2.4 leaks the fd of a dropped connect), send the bytes
//! already read (the peeked ClientHello for passthrough), then copy both ways with
//! our own loop (`http::tunnel::copy`), passing a half-close on, until both
//! directions end or the connection is idle for longer than the entry point's
//! `idleTimeout`.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRent, AsyncWriteRent};

use crate::config::DEFAULT_DIAL_TIMEOUT;
use crate::config::TcpService;
use crate::net::tunnel::copy;
use crate::net::upstream::dial;
use crate::service::wrr::Wrr;

/// How often the idle watchdog looks at the last activity.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// Per-worker round-robin state of one TCP service.
pub struct Balancer(RefCell<Wrr>);

impl Balancer {
    pub fn new(s: &TcpService) -> Self {
        Self(RefCell::new(Wrr::new(s.servers.iter().map(|x| x.weight))))
    }
}

/// Proxies `client` (read and write halves) to a server of `service`, sending
/// `initial` first. Returns when both directions are done.
pub async fn forward<R, W>(
    mut client_r: R,
    mut client_w: W,
    initial: Vec<u8>,
    service: &TcpService,
    lb: &Balancer,
    idle: Option<Duration>,
) where
    R: AsyncReadRent,
    W: AsyncWriteRent,
{
    let Some(i) = lb.0.borrow_mut().pick() else {
        log::warn!("tcp service {}: no server", service.name);
        let _ = client_w.shutdown().await;
        return;
    };
    let server = &service.servers[i];
    let up = match dial(server.addr, DEFAULT_DIAL_TIMEOUT).await {
        Ok(up) => up,
        Err(e) => {
            log::warn!("tcp service {}: {}: {e}", service.name, server.address);
            let _ = client_w.shutdown().await;
            return;
        }
    };
    let (mut up_r, mut up_w) = up.stream.into_split();
    let last = Cell::new(Instant::now());
    let upward = copy(&mut client_r, initial, &mut up_w, Some(&last));
    let downward = copy(&mut up_r, Vec::new(), &mut client_w, Some(&last));
    let both = async {
        if let Err(e) = crate::net::tunnel::both(upward, downward).await {
            log::debug!("tcp proxy to {} ended: {e}", server.address);
        }
    };
    match idle {
        None => both.await,
        Some(idle) => {
            // Dropping the copies on idle timeout loses nothing: the connection ends.
            monoio::select! {
                _ = both => {}
                _ = watchdog(&last, idle) => log::debug!("tcp proxy to {}: idle timeout", server.address),
            }
        }
    }
    // Ended by an error or the idle timeout, the client side was not closed yet:
    // a terminated TLS client gets its close_notify here.
    let _ = client_w.shutdown().await;
}

async fn watchdog(last: &Cell<Instant>, idle: Duration) {
    loop {
        monoio::time::sleep(IDLE_TICK).await;
        if last.get().elapsed() >= idle {
            return;
        }
    }
}
