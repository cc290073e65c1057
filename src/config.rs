//! Configuration: raw serde models (Traefik key names, `deny_unknown_fields`),
//! durations, and the validate/compile step that turns files into runtime types —
//! [`StaticConfig`] for the process and an immutable [`Snapshot`] for the data path.
//!
//! Pipeline: `provider` reads the dynamic files and parses each once into the
//! `raw_*` serde models, `static_cfg` validates the static file, `compile`
//! resolves and checks the dynamic files and builds the per-entry-point router
//! tables. Every problem is reported with its file and dotted key, all of them at
//! once. See `docs/configuration.md`.

use std::path::Path;
use std::time::Duration;

mod acme_types;
mod compile;
mod composite_types;
mod duration;
mod error;
mod health;
mod health_types;
pub mod internal;
mod kv;
mod middlewares;
pub mod observe;
mod passive_types;
mod provider;
mod raw_acme;
mod raw_dynamic;
mod raw_middleware;
mod raw_static;
mod raw_tls;
mod refused_keys;
mod roots;
mod server_addr;
mod services;
mod static_acme;
mod static_cfg;
mod static_tls;
mod sticky;
mod tcp;
mod tcp_types;
mod tls;
mod tls_types;
mod traefik_keys;
mod transport_tls;
mod transport_verify;
mod transports;
mod types;
mod upstream_url;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests_acme;
#[cfg(test)]
mod tests_auth;
#[cfg(test)]
mod tests_dynamic;
#[cfg(test)]
mod tests_dynamic_errors;
#[cfg(test)]
mod tests_health;
#[cfg(test)]
mod tests_middlewares;
#[cfg(test)]
mod tests_snapshot;
#[cfg(test)]
mod tests_static;
#[cfg(test)]
mod tests_tls;
#[cfg(test)]
mod tests_transport_tls;
#[cfg(test)]
mod tests_unknown_keys;

pub use acme_types::*;
pub use compile::qualified;
pub use duration::parse_duration;
pub use error::{ConfigError, ConfigErrors};
pub use health::carry_health;
pub use kv::source as kv_source;
pub use kv::{DEFAULT_KV_POLL_INTERVAL, KvProvider, KvStore, KvTls, Sentinel as RedisSentinel};
pub use middlewares::carry_limits;
pub use provider::{ProviderFiles, SourceFile};
pub use refused_keys::parse_section;
pub use server_addr::{DNS_REFRESH, DNS_RETRY, NamedAddr, ServerAddr};
pub use tcp_types::*;
pub use transports::probe_tls;
pub use types::*;

/// Traefik's `respondingTimeouts.readTimeout` default.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Traefik's `respondingTimeouts.writeTimeout` default: none.
pub const DEFAULT_WRITE_TIMEOUT: Option<Duration> = None;
/// Traefik's `respondingTimeouts.idleTimeout` default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// Traefik's `lifeCycle.requestAcceptGraceTimeout` default: stop accepting at once.
pub const DEFAULT_REQUEST_ACCEPT_GRACE_TIMEOUT: Duration = Duration::ZERO;
/// Traefik's `lifeCycle.graceTimeOut` default.
pub const DEFAULT_GRACE_TIMEOUT: Duration = Duration::from_secs(10);
/// Traefik's `http.maxHeaderBytes` default (1 MiB).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 1 << 20;
/// Traefik's `forwardingTimeouts.dialTimeout` default.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Traefik's `forwardingTimeouts.responseHeaderTimeout` default: none.
pub const DEFAULT_RESPONSE_HEADER_TIMEOUT: Option<Duration> = None;
/// `forwardingTimeouts.readTimeout` default (a proxyd extension): the longest silence
/// between two reads from an upstream, as nginx's `proxy_read_timeout`.
pub const DEFAULT_UPSTREAM_READ_TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));
/// `forwardingTimeouts.writeTimeout` default (a proxyd extension): the longest an
/// upstream may leave a request write blocked, as nginx's `proxy_send_timeout`.
pub const DEFAULT_UPSTREAM_WRITE_TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));
/// Traefik's `forwardingTimeouts.idleConnTimeout` default.
pub const DEFAULT_IDLE_CONN_TIMEOUT: Duration = Duration::from_secs(90);
/// Traefik's `maxIdleConnsPerHost` default.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: usize = 200;
/// io_uring submission queue entries per worker.
pub const DEFAULT_RING_ENTRIES: u32 = 1024;
/// Largest ring the kernel accepts (`IORING_MAX_ENTRIES`).
pub const MAX_RING_ENTRIES: u32 = 32768;
/// Traefik's `log.level` default.
pub const DEFAULT_LOG_LEVEL: log::LevelFilter = log::LevelFilter::Error;
/// Traefik's `providers.file.watch` default.
pub const DEFAULT_WATCH: bool = true;
/// `providers.providersThrottleDuration` default. Traefik waits 2s; an edit lands in
/// one burst of events well within this, and a reload should feel immediate.
pub const DEFAULT_PROVIDERS_THROTTLE: Duration = Duration::from_millis(200);
/// Traefik's `loadBalancer.passHostHeader` default.
pub const DEFAULT_PASS_HOST_HEADER: bool = true;
/// Traefik's `servers[].weight` default.
pub const DEFAULT_SERVER_WEIGHT: u32 = 1;
/// Port of an `http://` server URL without one.
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// Port of an `https://` server URL without one.
pub const DEFAULT_HTTPS_PORT: u16 = 443;
/// `respond.status` default (proxyd extension).
pub const DEFAULT_RESPOND_STATUS: u16 = 200;
/// `respond.contentType` default (proxyd extension).
pub const DEFAULT_RESPOND_CONTENT_TYPE: &str = "text/plain; charset=utf-8";
/// Traefik's `healthCheck.interval` default (`unhealthyInterval` defaults to
/// the interval).
pub const DEFAULT_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// Traefik's `healthCheck.timeout` default.
pub const DEFAULT_HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Traefik's `healthCheck.method` default.
pub const DEFAULT_HEALTH_CHECK_METHOD: &str = "GET";
/// Traefik's `healthCheck.followRedirects` default.
pub const DEFAULT_HEALTH_CHECK_FOLLOW_REDIRECTS: bool = true;
/// `passiveHealthCheck.failureWindow` (Traefik's default).
pub const DEFAULT_PASSIVE_FAILURE_WINDOW: Duration = Duration::from_secs(10);
/// `passiveHealthCheck.maxFailedAttempts` (Traefik's default).
pub const DEFAULT_PASSIVE_MAX_FAILED_ATTEMPTS: u32 = 1;
/// `mirroring.mirrorBody` (Traefik's default).
pub const DEFAULT_MIRROR_BODY: bool = true;
/// `mirroring.maxBodySize` (Traefik's default: no limit of its own).
pub const DEFAULT_MIRROR_MAX_BODY_SIZE: i64 = -1;
/// Name of the transport used by load balancers that name none (Traefik's name).
pub const DEFAULT_SERVERS_TRANSPORT: &str = "default@internal";

/// Loads and validates the static config file.
pub fn load_static(path: &Path) -> Result<StaticConfig, ConfigErrors> {
    static_cfg::load(path)
}

/// Reads every dynamic file of the provider, validates, resolves and compiles.
pub fn load_snapshot(static_cfg: &StaticConfig, generation: u64) -> Result<Snapshot, ConfigErrors> {
    compile_snapshot(static_cfg, read_dynamic(static_cfg), generation)
}

/// Reads and parses the provider's files without compiling them. The control thread
/// reads once, fingerprints what it read ([`ProviderFiles::fingerprint`]) and compiles
/// the same bytes, so what it compares is exactly what it publishes.
pub fn read_dynamic(static_cfg: &StaticConfig) -> ProviderFiles {
    read_dynamic_with(static_cfg, Vec::new())
}

/// [`read_dynamic`], plus sources read from other providers (`kv_source`): the
/// files they point at are read with the files' own.
pub fn read_dynamic_with(static_cfg: &StaticConfig, sources: Vec<SourceFile>) -> ProviderFiles {
    let mut files = provider::read(static_cfg.provider.as_ref());
    files.files.extend(sources);
    tls::read_referenced(&mut files);
    middlewares::read_users_files(&mut files);
    transport_tls::read_files(&mut files);
    middlewares::read_tls_files(&mut files);
    files
}

/// Validates, resolves and compiles files read by [`read_dynamic`] (consumed: their
/// parsed definitions move into the snapshot).
pub fn compile_snapshot(
    static_cfg: &StaticConfig,
    files: ProviderFiles,
    generation: u64,
) -> Result<Snapshot, ConfigErrors> {
    compile::compile(static_cfg, files, generation)
}
