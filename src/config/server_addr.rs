//! Where a load-balanced server is: a fixed address (an IP literal in its
//! URL), or a host name whose address the control thread resolves when it
//! compiles the configuration and the resolver thread (`health/resolve.rs`)
//! refreshes off the data path. Workers read the current address with one
//! lock-free load (`ArcSwapOption`); a name that does not resolve (now) has
//! none, so the server is not picked and, alone, answers 502.
//!
//! As in Traefik, a name that does not resolve does not refuse the
//! configuration. Traefik resolves per new connection through Go's resolver;
//! proxyd resolves on a fixed schedule instead ([`DNS_REFRESH`], sooner for
//! names that did not resolve: [`DNS_RETRY`]), because a worker never blocks.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

/// How often a name that resolved is resolved again (new addresses are used
/// by new connections; pooled ones to the old address are still used until
/// they close or expire).
pub const DNS_REFRESH: Duration = Duration::from_secs(30);
/// How often a name that did not resolve is tried again.
pub const DNS_RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub enum ServerAddr {
    Fixed(SocketAddr),
    Named(Arc<NamedAddr>),
}

#[derive(Debug)]
pub struct NamedAddr {
    pub host: String,
    pub port: u16,
    current: ArcSwapOption<SocketAddr>,
}

impl ServerAddr {
    /// An IP literal is fixed; a name is resolved now (blocking: the control
    /// thread compiles) and refreshed later.
    pub fn new(host: &str, port: u16) -> ServerAddr {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return ServerAddr::Fixed(SocketAddr::new(ip, port));
        }
        let named = NamedAddr {
            host: host.to_string(),
            port,
            current: ArcSwapOption::empty(),
        };
        if let Err(why) = named.refresh() {
            log::warn!("server host {host} does not resolve (yet): {why}");
        }
        ServerAddr::Named(Arc::new(named))
    }

    /// The address to connect to now, if any. Lock-free.
    #[inline]
    pub fn get(&self) -> Option<SocketAddr> {
        match self {
            ServerAddr::Fixed(a) => Some(*a),
            ServerAddr::Named(n) => n.current.load().as_deref().copied(),
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            ServerAddr::Fixed(a) => a.port(),
            ServerAddr::Named(n) => n.port,
        }
    }

    /// The host name, for a server named by one.
    pub fn name(&self) -> Option<&NamedAddr> {
        match self {
            ServerAddr::Fixed(_) => None,
            ServerAddr::Named(n) => Some(n),
        }
    }
}

/// `ip:port`: a fixed address (what tests and literals build).
impl std::str::FromStr for ServerAddr {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(ServerAddr::Fixed)
    }
}

/// Two definitions are equal when they name the same place, whatever it
/// resolves to now (a worker keeps its per-service state across a reload).
impl PartialEq for ServerAddr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ServerAddr::Fixed(a), ServerAddr::Fixed(b)) => a == b,
            (ServerAddr::Named(a), ServerAddr::Named(b)) => (&a.host, a.port) == (&b.host, b.port),
            _ => false,
        }
    }
}

impl NamedAddr {
    pub fn is_resolved(&self) -> bool {
        self.current.load().is_some()
    }

    /// Resolves the name (blocking getaddrinfo: never on a worker) and
    /// publishes the first address, as a dialer tries it first; logs a change.
    /// A failed lookup keeps the last address: a DNS blip must not take a
    /// working server away.
    pub fn refresh(&self) -> Result<(), String> {
        let found = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| e.to_string())
            .and_then(|mut a| a.next().ok_or_else(|| "no address".to_string()));
        let before = self.current.load().as_deref().copied();
        let addr = found?;
        if before != Some(addr) {
            // Published before it is logged: whoever reads the line (a
            // person, a test) finds workers already using the address.
            self.current.store(Some(Arc::new(addr)));
            log::info!("server host {} resolves to {}", self.host, addr.ip());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_fixed_and_names_resolve_or_wait() {
        let ip = ServerAddr::new("10.1.2.3", 7);
        assert_eq!(ip, ServerAddr::Fixed("10.1.2.3:7".parse().unwrap()));
        assert_eq!(
            ServerAddr::new("::1", 81).get(),
            Some("[::1]:81".parse().unwrap())
        );
        let local = ServerAddr::new("localhost", 9);
        let addr = local.get().expect("localhost resolves");
        assert!(addr.ip().is_loopback() && addr.port() == 9);
        let nowhere = ServerAddr::new("no-such-host.invalid", 80);
        assert_eq!(nowhere.get(), None);
        let named = nowhere.name().unwrap();
        assert!(!named.is_resolved() && named.refresh().is_err());
        // Equal by name, whatever they resolve to.
        assert_eq!(nowhere, ServerAddr::new("no-such-host.invalid", 80));
        assert_ne!(nowhere, ServerAddr::new("no-such-host.invalid", 81));
    }
}
