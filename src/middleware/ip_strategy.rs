//! Which address a middleware treats as the client's, and IP sets to check it
//! against, as Traefik's `ipStrategy` and IP checker define them:
//! - no `depth` and no `excludedIPs`: the peer's address;
//! - `depth: n`: the n-th entry from the right of the first `X-Forwarded-For`
//!   field (none when the list is shorter); `depth` wins over `excludedIPs`;
//! - `excludedIPs`: the right-most `X-Forwarded-For` entry that is not in the list;
//! - `ipv6Subnet: n` (peer and depth only): an IPv6 address stands for its /n
//!   network, so a client cannot escape a list by rotating addresses.
//!
//! Traefik drops `X-Forwarded-For` sent by a peer outside
//! `forwardedHeaders.trustedIPs` before middlewares run; here the strategy reads
//! it only from a trusted peer, which gives the same answer without a copy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

use super::RequestInfo;

const XFF: &str = "X-Forwarded-For";

/// A compiled `ipStrategy`.
#[derive(Debug)]
pub enum IpStrategy {
    RemoteAddr {
        ipv6_subnet: Option<u8>,
    },
    Depth {
        depth: usize,
        ipv6_subnet: Option<u8>,
    },
    Excluded(IpSet),
}

impl IpStrategy {
    /// The address to check, or `None` when there is none to use (the header
    /// is missing or too short, or its entry is not an IP): Traefik refuses those.
    pub fn client_ip(&self, req: &RequestInfo<'_>) -> Option<IpAddr> {
        match self {
            IpStrategy::RemoteAddr { ipv6_subnet } => Some(subnet(req.client_ip, *ipv6_subnet)),
            IpStrategy::Depth { depth, ipv6_subnet } => {
                let mut found = None;
                first_xff(req, |list| {
                    let entry = list.rsplit(|&b| b == b',').nth(depth - 1)?;
                    // The subnet applies only to a bare address (Traefik parses
                    // the entry before any host:port split).
                    let ip = parse_ip(entry.trim_ascii())
                        .map(|ip| subnet(ip, *ipv6_subnet))
                        .or_else(|| host_ip(entry.trim_ascii()));
                    found = ip;
                    Some(())
                });
                found
            }
            IpStrategy::Excluded(set) => {
                let mut found = None;
                first_xff(req, |list| {
                    let entry = list
                        .rsplit(|&b| b == b',')
                        .map(<[u8]>::trim_ascii)
                        .filter(|e| !e.is_empty())
                        .find(|e| !parse_ip(e).is_some_and(|ip| set.contains(ip)))?;
                    found = host_ip(entry);
                    Some(())
                });
                found
            }
        }
    }
}

/// Calls `f` with the first `X-Forwarded-For` field (Go's `Header.Get`), or
/// with an empty list when there is none or the peer may not set it.
fn first_xff(req: &RequestInfo<'_>, mut f: impl FnMut(&[u8]) -> Option<()>) {
    let mut seen = false;
    if req.forwarded_trusted {
        req.headers.any_value(XFF, &mut |v| {
            seen = true;
            f(v);
            true
        });
    }
    if !seen {
        f(b"");
    }
}

/// The first address of `ip`'s /n network when `ip` is IPv6.
fn subnet(ip: IpAddr, bits: Option<u8>) -> IpAddr {
    match (ip, bits) {
        (IpAddr::V6(v6), Some(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(n)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
        _ => ip,
    }
}

/// An IP as Go's `netip.ParseAddr` reads it (an IPv6 zone is accepted and
/// dropped), IPv4-mapped IPv6 as IPv4 (Go compares them equal).
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(s).ok()?;
    let s = match s.split_once('%') {
        Some((addr, zone)) if addr.contains(':') && !zone.is_empty() => addr,
        _ => s,
    };
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The IP of `host[:port]` or `[v6]:port` (Go's `SplitHostPort`, falling back
/// to the whole string as Traefik's checker does).
fn host_ip(s: &[u8]) -> Option<IpAddr> {
    let host = split_host(s).unwrap_or(s);
    parse_ip(host)
}

fn split_host(s: &[u8]) -> Option<&[u8]> {
    let colon = s.iter().rposition(|&b| b == b':')?;
    if s.first() == Some(&b'[') {
        let close = s.iter().position(|&b| b == b']')?;
        return (close + 1 == colon).then(|| &s[1..close]);
    }
    let host = &s[..colon];
    (!host.contains(&b':') && !host.contains(&b'[') && !host.contains(&b']')).then_some(host)
}

/// Addresses and networks (`sourceRange`, `excludedIPs`) as Go's IP checker
/// matches them: an IPv4-mapped IPv6 network holds IPv4 addresses only.
#[derive(Debug, Default)]
pub struct IpSet {
    ips: Vec<IpAddr>,
    nets: Vec<IpNet>,
}

impl IpSet {
    /// Parses each entry as an IP or a CIDR; the error names the bad entry's index.
    pub fn parse(entries: &[String]) -> Result<IpSet, (usize, String)> {
        let mut set = IpSet::default();
        for (i, e) in entries.iter().enumerate() {
            if let Some(ip) = plain_ip(e) {
                set.ips.push(ip);
                continue;
            }
            let net: IpNet = e.parse().map_err(|_| {
                (
                    i,
                    format!("`{e}` is neither an IP address nor a CIDR (e.g. 10.0.0.0/8)"),
                )
            })?;
            set.nets.push(canonical_net(net.trunc()));
        }
        Ok(set)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ips.contains(&ip) || self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Go's `net.ParseIP`: no zone.
fn plain_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// `::ffff:a.b.c.d/n` is Go's IPv4 network a.b.c.d/(n-96).
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) => match v6.network().to_ipv4_mapped() {
            Some(v4) => {
                let bits = v6.prefix_len().saturating_sub(96);
                let v4 = Ipv4Net::new(v4, bits).unwrap_or_else(|_| {
                    Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0 is valid")
                });
                IpNet::V4(v4.trunc())
            }
            None => IpNet::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
#[path = "ip_strategy_tests.rs"]
mod tests;
