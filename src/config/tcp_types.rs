//! The compiled `tcp` section of a snapshot: TCP routers (matched on the
//! ClientHello and the client address), their tables per entry point, and the
//! services that forward raw bytes.

use std::net::SocketAddr;
use std::sync::Arc;

pub use crate::router::tcp::{ConnInfo, TcpRule};

/// The compiled `tcp` section of a snapshot.
#[derive(Default)]
pub struct TcpConfig {
    pub routers: Vec<TcpRouter>,
    pub services: Vec<Arc<TcpService>>,
    /// Per entry point: router indices, highest priority first (then by name).
    pub tables: Vec<Vec<u32>>,
}

pub struct TcpRouter {
    /// Qualified name, e.g. `db@file`.
    pub name: String,
    pub rule: TcpRule,
    pub priority: i64,
    /// Index into `TcpConfig::services`.
    pub service: usize,
    pub tls: TcpTls,
    /// `tls.options` for a terminating router (`None`: the entry point's).
    pub tls_options: Option<String>,
}

/// How a router treats TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpTls {
    /// No `tls`: plaintext connections only.
    None,
    /// `tls.passthrough = true`: the TLS bytes go upstream untouched.
    Passthrough,
    /// `tls` without passthrough: proxyd terminates, the plaintext goes upstream.
    Terminate,
}

#[derive(Debug, PartialEq)]
pub struct TcpService {
    pub name: String,
    pub servers: Vec<TcpServer>,
}

#[derive(Debug, PartialEq)]
pub struct TcpServer {
    /// As written (`host:port`).
    pub address: String,
    /// Resolved on the control thread.
    pub addr: SocketAddr,
    pub weight: u32,
}

impl TcpConfig {
    /// The first router on entry point `ep` for a connection: TLS routers see TLS
    /// connections only, the others plaintext only.
    pub fn find(&self, ep: usize, c: &ConnInfo<'_>, tls: bool) -> Option<&TcpRouter> {
        self.tables
            .get(ep)?
            .iter()
            .map(|&i| &self.routers[i as usize])
            .find(|r| (r.tls != TcpTls::None) == tls && r.rule.matches(c))
    }

    /// Whether entry point `ep` has routers for TLS connections, and for plaintext ones.
    pub fn kinds(&self, ep: usize) -> (bool, bool) {
        let routers = self.tables.get(ep).map_or(&[][..], |t| &t[..]);
        let tls = |i: &u32| self.routers[*i as usize].tls != TcpTls::None;
        (routers.iter().any(tls), routers.iter().any(|i| !tls(i)))
    }
}
