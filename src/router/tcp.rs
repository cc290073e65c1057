//! TCP router rules: Traefik v3's `HostSNI`, `HostSNIRegexp`, `ALPN` and `ClientIP`
//! with `&&`, `||`, `!` and parentheses. The grammar is the HTTP rules' own
//! (`router::parse_with`); only the matcher set differs.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use crate::router::{Expr, RuleError, ip_net, parse_with, unmap};

/// What a TCP rule can look at: the ClientHello (if any) and the client address.
pub struct ConnInfo<'a> {
    /// Lowercased SNI; `None` for plaintext or a hello without one.
    pub sni: Option<&'a str>,
    pub alpn: &'a [Vec<u8>],
    pub client_ip: IpAddr,
}

#[derive(Debug, Clone)]
enum TcpMatcher {
    /// ``HostSNI(`*`)``: any connection, TLS or not.
    AnySni,
    HostSni(Box<str>),
    HostSniRegexp(Regex),
    Alpn(Box<[u8]>),
    ClientIp(IpNet),
}

/// A parsed TCP rule.
#[derive(Debug, Clone)]
pub struct TcpRule {
    expr: Expr<TcpMatcher>,
}

impl TcpRule {
    pub fn parse(src: &str) -> Result<TcpRule, RuleError> {
        Ok(TcpRule {
            expr: parse_with(src, &build)?,
        })
    }

    pub fn matches(&self, c: &ConnInfo<'_>) -> bool {
        self.expr.eval_with(&|m| match m {
            TcpMatcher::AnySni => true,
            TcpMatcher::HostSni(h) => c.sni == Some(&**h),
            TcpMatcher::HostSniRegexp(re) => c.sni.is_some_and(|s| re.is_match(s)),
            TcpMatcher::Alpn(p) => c.alpn.iter().any(|a| a[..] == p[..]),
            TcpMatcher::ClientIp(net) => net.contains(&unmap(c.client_ip)),
        })
    }

    /// Whether the rule can only match a TLS connection's SNI or ALPN. Traefik
    /// refuses such rules on routers without `tls`: plaintext has neither.
    pub fn needs_tls(&self) -> bool {
        fn walk(e: &Expr<TcpMatcher>) -> bool {
            match e {
                Expr::Match(m) => matches!(
                    m,
                    TcpMatcher::HostSni(_) | TcpMatcher::HostSniRegexp(_) | TcpMatcher::Alpn(_)
                ),
                Expr::Not(e) => walk(e),
                Expr::And(a, b) | Expr::Or(a, b) => walk(a) || walk(b),
            }
        }
        walk(&self.expr)
    }
}

fn build(name: &str, args: &[String]) -> Result<TcpMatcher, RuleError> {
    let [arg] = args else {
        return Err(RuleError(format!(
            "{name} takes 1 argument, got {} (v3 syntax: combine with || instead of a list)",
            args.len()
        )));
    };
    let a = arg.as_str();
    Ok(match name {
        "HostSNI" if a == "*" => TcpMatcher::AnySni,
        "HostSNI" => {
            let host = a.strip_suffix('.').unwrap_or(a);
            let ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !ok {
                return Err(RuleError(format!(
                    "HostSNI: invalid host {a:?} (use HostSNIRegexp for patterns)"
                )));
            }
            TcpMatcher::HostSni(host.to_ascii_lowercase().into())
        }
        "HostSNIRegexp" => TcpMatcher::HostSniRegexp(
            Regex::new(a)
                .map_err(|e| RuleError(format!("HostSNIRegexp: invalid regex {a:?}: {e}")))?,
        ),
        "ALPN" if a.is_empty() => return Err(RuleError("ALPN: empty protocol".into())),
        "ALPN" => TcpMatcher::Alpn(a.as_bytes().into()),
        "ClientIP" => {
            TcpMatcher::ClientIp(ip_net(a).map_err(|e| RuleError(format!("ClientIP: {}", e.0)))?)
        }
        _ => {
            return Err(RuleError(format!(
                "unknown TCP matcher `{name}`; expected one of HostSNI, HostSNIRegexp, ALPN, ClientIP"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(sni: Option<&'a str>, alpn: &'a [Vec<u8>], ip: &str) -> ConnInfo<'a> {
        ConnInfo {
            sni,
            alpn,
            client_ip: ip.parse().unwrap(),
        }
    }

    #[test]
    fn matchers_and_operators() {
        let h2 = [b"h2".to_vec()];
        let r = TcpRule::parse("HostSNI(`A.example.com`) && ALPN(`h2`)").unwrap();
        assert!(r.matches(&info(Some("a.example.com"), &h2, "1.2.3.4")));
        assert!(!r.matches(&info(Some("a.example.com"), &[], "1.2.3.4")));
        assert!(r.needs_tls());
        let r = TcpRule::parse("HostSNI(`*`) && !ClientIP(`10.0.0.0/8`)").unwrap();
        assert!(r.matches(&info(None, &[], "1.2.3.4")));
        assert!(!r.matches(&info(None, &[], "10.1.1.1")));
        assert!(!r.needs_tls());
        let r = TcpRule::parse("HostSNIRegexp(`^.+\\.db\\.test$`) || HostSNI(`x.test`)").unwrap();
        assert!(r.matches(&info(Some("a.db.test"), &[], "::1")));
        assert!(r.matches(&info(Some("x.test"), &[], "::1")));
        assert!(!r.matches(&info(None, &[], "::1")));
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "Host(`a`)",
            "HostSNI(`a`, `b`)",
            "HostSNI(`*.a.com`)",
            "ALPN(``)",
            "ClientIP(`x`)",
            "HostSNIRegexp(`(`)",
            "HostSNI(`a`) &&",
        ] {
            assert!(TcpRule::parse(bad).is_err(), "{bad}");
        }
    }
}
