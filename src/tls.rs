//! TLS: the ClientHello peek (`client_hello`), the certificate store and SNI
//! resolver (`store`), rustls `ServerConfig`s per `tls.options` (`acceptor`), the
//! owned-buffer rustls adapter for monoio (`stream`), and the HTTP→HTTPS redirect
//! (`redirect`).
//!
//! Everything here that touches a file or builds a rustls config runs on the
//! control thread at compile time; a worker only looks up an `Arc<ServerConfig>`
//! by SNI in the snapshot and drives the handshake: workers never block.

pub mod acceptor;
pub mod acme;
pub mod client_hello;
#[cfg(test)]
mod fuzz_tests;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use rustls::ServerConfig;

pub use store::CertStore;

/// Name of the options used when a router names none (Traefik's).
pub const DEFAULT_OPTIONS: &str = "default";

/// The compiled TLS part of a snapshot.
pub struct TlsConfig {
    pub store: Arc<CertStore>,
    /// One rustls config per `tls.options` name (always has [`DEFAULT_OPTIONS`]).
    pub configs: HashMap<String, Arc<ServerConfig>>,
    /// Per entry point (same order as `StaticConfig::entry_points`).
    pub entries: Vec<EntryTls>,
}

/// Which options a handshake on one entry point uses, by SNI.
pub struct EntryTls {
    /// The entry point's `http.tls.options`, else `default`.
    pub default: Arc<ServerConfig>,
    /// Hosts of TLS routers' `Host`/`HostSNI` rules that name options (Traefik
    /// picks options by matching the SNI against router hosts).
    pub by_host: HashMap<String, Arc<ServerConfig>>,
}

impl TlsConfig {
    /// The rustls config for a handshake on entry point `ep` with this SNI.
    pub fn server_config(&self, ep: usize, sni: Option<&str>) -> &Arc<ServerConfig> {
        let e = &self.entries[ep];
        sni.and_then(|s| e.by_host.get(s)).unwrap_or(&e.default)
    }
}
