//! What a probe sends where: the first request of a server's probe (its URL
//! joined with the health check's path, port and hostname, as Traefik builds
//! it), the request bytes, and the request a redirect leads to.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::config::{HealthCheck, Server, ServersTransport};

/// Sent unless the health check's headers name another.
pub const USER_AGENT: &str = "proxyd-healthcheck";

/// Everything one server's probes need, built once per snapshot.
#[derive(Debug)]
pub struct Spec {
    pub check: Arc<HealthCheck>,
    pub first: Request,
    /// `first` encoded once, with keep-alive: what each probe writes on the
    /// server's kept connection (or a fresh one).
    pub first_bytes: Vec<u8>,
    /// `host:port` the check's `port` applies to, the `hostname` does not: a
    /// gRPC probe's `:authority`, as Traefik dials it.
    pub authority: String,
    /// The service's transport: its `dialTimeout` (the probe's `timeout`
    /// bounds it too), and for gRPC its HTTP/2 connections' idle timeout.
    pub transport: ServersTransport,
    /// An `https://` server's TLS (its transport's config and name).
    pub tls: Option<Arc<crate::net::upstream_tls::TlsTarget>>,
    /// Where the server is now: a host name may resolve differently later.
    pub server: crate::config::ServerAddr,
}

/// One HTTP/1.1 request of a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub addr: SocketAddr,
    /// The URL's host as written (brackets kept for IPv6), without the port.
    pub host: String,
    pub host_header: String,
    /// Origin-form: path and query.
    pub target: String,
    pub method: String,
    /// A redirect to another host happened: credentials stay behind, as with
    /// Go's client.
    pub other_host: bool,
}

/// `tls`: what the probe speaks (`config::probe_tls`).
pub fn spec(
    check: &Arc<HealthCheck>,
    server: &Server,
    transport: &ServersTransport,
    tls: Option<Arc<crate::net::upstream_tls::TlsTarget>>,
) -> Spec {
    let (host, _) = split_port(&server.authority);
    // A name's address is taken again at each probe (`Spec::server`).
    let unspecified = std::net::Ipv4Addr::UNSPECIFIED.into();
    let mut addr = (server.addr.get()).unwrap_or(SocketAddr::new(unspecified, server.addr.port()));
    let mut host_header = server.authority.clone();
    if let Some(port) = check.port {
        addr.set_port(port);
        host_header = format!("{host}:{port}");
    }
    let authority = host_header.clone();
    if let Some(h) = &check.hostname {
        host_header = h.clone();
    }
    let first = Request {
        addr,
        host: host.to_string(),
        host_header,
        target: resolve(url_path(server), &check.path),
        method: check.method.clone(),
        other_host: false,
    };
    let mut first_bytes = Vec::with_capacity(256);
    first.encode(check, true, &mut first_bytes);
    Spec {
        check: check.clone(),
        first,
        first_bytes,
        authority,
        transport: transport.clone(),
        tls,
        server: server.addr.clone(),
    }
}

impl Request {
    /// The request head. `keep_alive`: the connection is kept for the next
    /// probe (the first request); a redirect's request goes on a connection
    /// of its own with `Connection: close`.
    pub fn encode(&self, check: &HealthCheck, keep_alive: bool, out: &mut Vec<u8>) {
        let mut head = String::with_capacity(256);
        let _ = write!(
            head,
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method, self.target, self.host_header
        );
        let named = |n: &str| check.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !named("user-agent") {
            let _ = write!(head, "User-Agent: {USER_AGENT}\r\n");
        }
        for (name, value) in &check.headers {
            let sensitive = ["authorization", "cookie", "www-authenticate"]
                .iter()
                .any(|s| name.eq_ignore_ascii_case(s));
            if !(self.other_host && sensitive) {
                let _ = write!(head, "{name}: {value}\r\n");
            }
        }
        // Go's client sends an empty body's length for the methods that expect one.
        if matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str(if keep_alive {
            "\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        out.extend_from_slice(head.as_bytes());
    }

    /// The request a redirect answer leads to (Go's client rules): `None` when
    /// `status` is no redirect or there is no `Location`, an error when proxyd
    /// cannot follow it.
    pub fn redirect(&self, status: u16, location: &str) -> Result<Option<Request>, String> {
        if !matches!(status, 301 | 302 | 303 | 307 | 308) || location.is_empty() {
            return Ok(None);
        }
        let mut next = self.clone();
        if matches!(status, 301..=303) && !matches!(self.method.as_str(), "GET" | "HEAD") {
            next.method = "GET".into();
        }
        let lower = location.to_ascii_lowercase();
        let absolute = if lower.starts_with("https://") {
            return Err(format!(
                "redirect to {location:?}: https is not supported yet"
            ));
        } else if lower.starts_with("http://") {
            Some(&location[7..])
        } else {
            location.strip_prefix("//")
        };
        let Some(rest) = absolute else {
            if location
                .split(['/', '?'])
                .next()
                .is_some_and(|s| s.contains(':'))
            {
                return Err(format!("redirect to {location:?}: only http is followed"));
            }
            // Relative: same server, and a custom Host is kept (as Go does).
            next.target = resolve(self.path(), location);
            return Ok(Some(next));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (host, port) = split_port(authority);
        let port = match port {
            None | Some("") => 80,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("redirect to {location:?}: bad port"))?,
        };
        let ip = match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ip,
            Err(_) if host.eq_ignore_ascii_case(&self.host) => self.addr.ip(),
            Err(_) => {
                return Err(format!(
                    "redirect to {location:?}: host {host:?} is not followed (proxyd resolves \
                     names only when the configuration loads)"
                ));
            }
        };
        next.other_host |= !host.eq_ignore_ascii_case(&self.host);
        next.addr = SocketAddr::new(ip, port);
        next.host = host.to_string();
        next.host_header = authority.to_string();
        next.target = resolve("/", path.split('#').next().unwrap_or(""));
        Ok(Some(next))
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }
}

/// The path of a server URL as written (`http://h:1/api/` → `/api/`).
fn url_path(server: &Server) -> &str {
    let rest = server.url.split_once("://").map_or("", |(_, r)| r);
    rest.get(server.authority.len()..).unwrap_or("")
}

/// `host[:port]` → (host, port); an IPv6 literal keeps its brackets.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(i) => (&authority[..=i], authority[i + 1..].strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

/// Resolves a relative reference (path and query, no scheme or host) against
/// a base path, RFC 3986 §5.2: "" is the base itself, `/x` replaces it, `x`
/// replaces its last segment, and dot segments are removed.
pub fn resolve(base: &str, reference: &str) -> String {
    let base = if base.is_empty() { "/" } else { base };
    let (path, query) = match reference.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (reference, None),
    };
    let merged = if path.is_empty() {
        base.to_string()
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{path}")
    };
    let mut out = remove_dots(&merged);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn remove_dots(path: &str) -> String {
    let mut segs: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *seg {
            "." if last => segs.push(""),
            "." => {}
            ".." => {
                segs.pop();
                if last {
                    segs.push("");
                }
            }
            s => segs.push(s),
        }
    }
    format!("/{}", segs.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn paths_resolve_against_the_server_url_as_go_does() {
        assert_eq!(resolve("", ""), "/");
        assert_eq!(resolve("/api", ""), "/api");
        assert_eq!(resolve("/api", "/health"), "/health");
        assert_eq!(resolve("/api", "health"), "/health");
        assert_eq!(resolve("/api/", "health?full=1"), "/api/health?full=1");
        assert_eq!(resolve("/a/b/", "../c"), "/a/c");
        assert_eq!(resolve("/a/b", "./"), "/a/");
        assert_eq!(resolve("/", "/x/../y"), "/y");
    }

    fn check() -> HealthCheck {
        HealthCheck {
            grpc: false,
            tls: None,
            path: "/health".into(),
            method: "GET".into(),
            hostname: None,
            port: None,
            interval: Duration::from_secs(1),
            unhealthy_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            headers: vec![("Authorization".into(), "x".into())],
            follow_redirects: true,
            status: None,
        }
    }

    fn server(url: &str, authority: &str) -> Server {
        Server {
            url: url.into(),
            addr: "127.0.0.1:8080".parse().unwrap(),
            authority: authority.into(),
            path_prefix: String::new(),
            weight: 1,
            health: Default::default(),
            tls: None,
            h2c: false,
        }
    }

    #[test]
    fn port_and_hostname_replace_the_servers() {
        let mut c = check();
        let s = server("http://app.local:8080/base/", "app.local:8080");
        let plain = spec(&Arc::new(c.clone()), &s, &ServersTransport::default(), None);
        assert_eq!(plain.first.host_header, "app.local:8080");
        assert_eq!(plain.first.target, "/health");
        c.port = Some(9000);
        c.path = "ready".into();
        let ported = spec(&Arc::new(c.clone()), &s, &ServersTransport::default(), None);
        assert_eq!(ported.first.addr.port(), 9000);
        assert_eq!(ported.first.host_header, "app.local:9000");
        assert_eq!(ported.first.target, "/base/ready");
        c.hostname = Some("health.test".into());
        let named = spec(&Arc::new(c), &s, &ServersTransport::default(), None);
        assert_eq!(named.first.host_header, "health.test");
        let v6 = server("http://[::1]:8080", "[::1]:8080");
        assert_eq!(split_port(&v6.authority), ("[::1]", Some("8080")));
    }

    #[test]
    fn redirects_follow_gos_rules() {
        let c = check();
        let s = server("http://app.local:8080", "app.local:8080");
        let mut first = spec(&Arc::new(c.clone()), &s, &ServersTransport::default(), None).first;
        first.method = "POST".into();
        assert_eq!(first.redirect(200, "/x"), Ok(None));
        assert_eq!(first.redirect(302, ""), Ok(None));
        let rel = first.redirect(302, "ok?x=1").unwrap().unwrap();
        assert_eq!(
            (rel.method.as_str(), rel.target.as_str()),
            ("GET", "/ok?x=1")
        );
        assert_eq!(rel.host_header, "app.local:8080");
        let kept = first.redirect(307, "/y").unwrap().unwrap();
        assert_eq!(kept.method, "POST");
        let same = first
            .redirect(301, "http://APP.local:81/z")
            .unwrap()
            .unwrap();
        assert_eq!(same.addr, "127.0.0.1:81".parse().unwrap());
        assert!(!same.other_host);
        let ip = first.redirect(308, "http://127.0.0.2/").unwrap().unwrap();
        assert_eq!((ip.addr.port(), ip.other_host), (80, true));
        let mut out = Vec::new();
        ip.encode(&c, false, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("Authorization"), "{text}");
        assert!(
            text.starts_with("POST / HTTP/1.1\r\nHost: 127.0.0.2\r\n"),
            "{text}"
        );
        assert!(text.ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
        let kept = spec(&Arc::new(c), &s, &ServersTransport::default(), None);
        let text = String::from_utf8(kept.first_bytes).unwrap();
        assert!(text.ends_with("User-Agent: proxyd-healthcheck\r\nAuthorization: x\r\n\r\n"));
        assert!(first.redirect(302, "https://app.local/").is_err());
        assert!(first.redirect(302, "http://elsewhere.test/").is_err());
        assert!(first.redirect(302, "ftp://x/").is_err());
    }
}
