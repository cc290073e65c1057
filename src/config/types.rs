//! Runtime configuration types: what the rest of proxyd consumes. [`StaticConfig`]
//! for the process, [`Snapshot`] (immutable, compiled) for the data path.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::router::RouterTable;

pub use super::composite_types::*;
pub use super::health_types::*;
pub use super::passive_types::*;
pub use super::tls_types::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoDriver {
    #[default]
    Auto,
    Uring,
    Epoll,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaticConfig {
    /// The file it was loaded from (relative paths inside resolve against its directory).
    pub source: PathBuf,
    /// In the order they appear in the file, sorted by name for determinism.
    pub entry_points: Vec<EntryPoint>,
    pub provider: Option<FileProvider>,
    /// `providers.redis` and `providers.etcd`, in that order (`config::kv`).
    pub kv: Vec<crate::config::KvProvider>,
    /// `providers.providersThrottleDuration`: how long the control thread keeps
    /// collecting change events before it reloads once.
    pub providers_throttle: Duration,
    pub workers: Workers,
    pub log_level: log::LevelFilter,
    /// `accessLog`, `metrics`, `api`, `ping` (see `observe::config`).
    pub observe: crate::config::observe::ObserveConfig,
    /// `certificatesResolvers` (ACME), in name order.
    pub cert_resolvers: Vec<super::acme_types::AcmeResolver>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntryPoint {
    pub name: String,
    /// Port 0 binds an ephemeral port (shared by every worker); tests rely on it.
    pub address: SocketAddr,
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub request_accept_grace_timeout: Duration,
    pub grace_timeout: Duration,
    pub trusted_ips: Vec<ipnet::IpNet>,
    pub forwarded_insecure: bool,
    pub max_header_bytes: usize,
    /// `maxConnections` (proxyd extension): open connections allowed across all
    /// workers; 0 means no limit.
    pub max_connections: usize,
    /// `http2.maxConcurrentStreams`: streams one HTTP/2 client may have open.
    pub http2_max_streams: u32,
    /// `http2.maxDecoderHeaderTableSize`: the HPACK table clients may fill.
    pub http2_decoder_table: u32,
    /// `transport.maxRequestBodyBytes` (proxyd extension): larger request
    /// bodies are answered 413; `None` means no limit.
    pub max_request_body_bytes: Option<u64>,
    /// `http.tls`: every HTTP router on this entry point is served over TLS only.
    pub http_tls: Option<RouterTls>,
    /// `http.redirections.entryPoint`.
    pub redirect: Option<EntryRedirect>,
    /// `http.middlewares`: names of dynamic middlewares run for every router
    /// on this entry point, before the router's own.
    pub middlewares: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileProvider {
    /// A directory (every `*.toml` below it, recursively) or one file.
    pub path: PathBuf,
    pub is_directory: bool,
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workers {
    pub cores: Option<usize>,
    pub io_driver: IoDriver,
    pub ring_entries: u32,
}

/// Immutable, compiled dynamic configuration: what workers serve from.
pub struct Snapshot {
    pub generation: u64,
    /// One table per static entry point, same order as `StaticConfig::entry_points`:
    /// the routers served on plaintext connections.
    pub tables: Vec<RouterTable>,
    /// Same, for TLS connections (routers with `tls`, or on a `http.tls` entry point).
    pub tls_tables: Vec<RouterTable>,
    pub tls: crate::tls::TlsConfig,
    pub tcp: crate::config::TcpConfig,
    /// Indexed by the ids the tables return.
    pub routers: Vec<Router>,
    pub services: Vec<Arc<Service>>,
    /// Every compiled middleware; chains hold indices into it.
    pub middlewares: Vec<Arc<crate::middleware::MiddlewareDef>>,
    /// Same order as `StaticConfig::entry_points`: each entry point's
    /// `http.middlewares`, run before the router's own.
    pub entry_chains: Vec<crate::middleware::Chain>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    pub name: String,
    pub rule: String,
    pub priority: i64,
    pub entry_points: Vec<String>,
    /// Index into `Snapshot::services`.
    pub service: usize,
    /// `tls`: served on TLS connections only.
    pub tls: Option<RouterTls>,
    /// The router's `middlewares`, flattened: indices into `Snapshot::middlewares`.
    pub middlewares: crate::middleware::Chain,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Qualified name, e.g. `app@file` or `whoami@internal`.
    pub name: String,
    pub kind: ServiceKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceKind {
    LoadBalancer(LoadBalancer),
    /// `whoami@internal`: echoes method, path, headers and client address.
    Whoami,
    /// proxyd extension `http.services.<n>.respond`: a fixed response.
    Respond(Respond),
    /// `api@internal`, `dashboard@internal`, `ping@internal`, `prometheus@internal`.
    Observe(crate::config::observe::Internal),
    /// The router of `entryPoints.<n>.http.redirections.entryPoint`.
    Redirect(Redirect),
    /// `weighted`: round robin over other services.
    Weighted(Weighted),
    /// `failover`: a service, and another while it is down.
    Failover(Failover),
    /// `mirroring`: a service, and copies of requests to others.
    Mirroring(Mirroring),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    pub servers: Vec<Server>,
    pub pass_host_header: bool,
    pub transport: ServersTransport,
    /// `healthCheck`: probed by the `health` prober; `None`: every server is up.
    pub health_check: Option<Arc<HealthCheck>>,
    /// `strategy`: how a worker picks among the servers up.
    pub strategy: Strategy,
    /// `sticky.cookie`: a client's cookie names its server.
    pub sticky: Option<Arc<StickyCookie>>,
    /// `passiveHealthCheck`: failed requests mark a server down.
    pub passive: Option<PassiveCheck>,
}

impl LoadBalancer {
    /// Whether server `i` may take requests: up for the prober and not held
    /// down by its failed requests.
    #[inline]
    pub fn server_up(&self, i: usize) -> bool {
        self.servers[i].health.is_up() && self.passive.as_ref().is_none_or(|p| p.servers[i].is_up())
    }
}

/// A compiled sticky cookie (`config/sticky.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct StickyCookie {
    pub name: String,
    /// What follows `name=value` in `Set-Cookie` (`; Path=/; HttpOnly` …).
    pub attributes: String,
    /// The cookie value of each server, same indices as `servers`.
    pub values: Vec<String>,
    /// Values older Traefik versions wrote, and their server: accepted, then
    /// rewritten to the current value.
    pub legacy: Vec<(String, usize)>,
}

impl StickyCookie {
    /// The server a cookie value names, and whether the value is an old
    /// form to rewrite.
    pub fn server(&self, value: &[u8]) -> Option<(usize, bool)> {
        if let Some(i) = self.values.iter().position(|v| v.as_bytes() == value) {
            return Some((i, false));
        }
        let legacy = self.legacy.iter().find(|(v, _)| v.as_bytes() == value);
        legacy.map(|&(_, i)| (i, true))
    }
}

/// A load balancer's `strategy` (Traefik v3's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// `wrr`: smooth weighted round robin (the default).
    #[default]
    Wrr,
    /// `p2c`: power of two choices by requests in flight.
    P2c,
    /// `hrw`: highest random weight of the client address.
    Hrw,
    /// `leasttime`: lowest average time to first byte, times requests in flight.
    LeastTime,
}

impl Strategy {
    pub fn parse(s: &str) -> Result<Strategy, String> {
        match s {
            "wrr" => Ok(Strategy::Wrr),
            "p2c" => Ok(Strategy::P2c),
            "hrw" => Ok(Strategy::Hrw),
            "leasttime" => Ok(Strategy::LeastTime),
            other => Err(format!(
                "unknown strategy {other:?}: expected wrr, p2c, hrw or leasttime"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Wrr => "wrr",
            Strategy::P2c => "p2c",
            Strategy::Hrw => "hrw",
            Strategy::LeastTime => "leasttime",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub url: String,
    /// Where to connect: fixed, or a name resolved off the data path.
    pub addr: super::server_addr::ServerAddr,
    /// `host[:port]` as written in the URL: the Host header when passHostHeader=false.
    pub authority: String,
    /// The URL's path (no trailing `/`), joined in front of the request path
    /// when the server has `preservePath`; empty otherwise.
    pub path_prefix: String,
    pub weight: u32,
    /// Up or down, as the prober last saw it (always up without `healthCheck`).
    pub health: Health,
    /// `https://`: the transport's TLS config and the name to verify.
    pub tls: Option<Arc<crate::net::upstream_tls::TlsTarget>>,
    /// `h2c://`: HTTP/2 with prior knowledge, in clear text.
    pub h2c: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServersTransport {
    pub name: String,
    pub dial_timeout: Duration,
    pub response_header_timeout: Option<Duration>,
    /// Longest wait for each read from the upstream once the request is sent
    /// (`None`: no limit).
    pub read_timeout: Option<Duration>,
    /// Longest wait for each write of the request to the upstream (`None`: no limit).
    pub write_timeout: Option<Duration>,
    pub idle_conn_timeout: Duration,
    pub max_idle_conns_per_host: usize,
    /// The TLS keys, when the transport sets any (`https://` servers of a
    /// transport without them use `transport_tls::default_tls`).
    pub tls: Option<Arc<super::transport_tls::TransportTls>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Respond {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}
