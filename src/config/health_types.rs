//! Active health checks in a snapshot: the compiled `loadBalancer.healthCheck`
//! of a service ([`HealthCheck`]) and the shared up/down flag of each server
//! ([`Health`]) that the prober writes and every worker reads in its pick.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `http.services.<n>.loadBalancer.healthCheck`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    /// `mode = "grpc"`: the gRPC health protocol over HTTP/2 instead of an
    /// HTTP request (path, method, hostname, headers, status and redirects
    /// then do not apply, as in Traefik).
    pub grpc: bool,
    /// `scheme`: `Some(true)` probes with TLS (`https`), `Some(false)` without
    /// (`http`, or `h2c` for gRPC), `None` as the server URL says.
    pub tls: Option<bool>,
    /// Relative URL (path and query) resolved against each server's URL; ""
    /// probes the server URL itself, as Traefik does.
    pub path: String,
    pub method: String,
    /// Host header of the probe; `None`: the server's `host[:port]`.
    pub hostname: Option<String>,
    /// Replaces the server URL's port.
    pub port: Option<u16>,
    /// Between probes of a server that is up.
    pub interval: Duration,
    /// Between probes of a server that is down.
    pub unhealthy_interval: Duration,
    /// Bounds one whole probe: connect, request, response head, redirects.
    pub timeout: Duration,
    /// Sent as given, after the Host header.
    pub headers: Vec<(String, String)>,
    pub follow_redirects: bool,
    /// The one healthy status; `None`: any 2xx or 3xx.
    pub status: Option<u16>,
}

/// Whether a server is up: one flag per server, shared by every snapshot that
/// keeps the server (same service name and URL, see `config::carry_health`).
/// The prober is its only writer; workers read it in the pick. A new server
/// starts up, as in Traefik.
#[derive(Clone)]
pub struct Health(Arc<AtomicBool>);

impl Health {
    pub fn new() -> Self {
        Health(Arc::new(AtomicBool::new(true)))
    }

    /// Relaxed: the flag orders nothing else, and a pick that sees the change
    /// one request late is harmless.
    #[inline]
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the flag and returns its previous value.
    pub fn set(&self, up: bool) -> bool {
        self.0.swap(up, Ordering::Relaxed)
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

/// Two servers' health is the same only when it is the same flag: a worker
/// keeps its per-service state across a reload only for an equal definition,
/// and that state must read the flag the prober writes now, not an older one.
impl PartialEq for Health {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_up() { "UP" } else { "DOWN" })
    }
}
