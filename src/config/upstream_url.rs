//! Server URLs of load balancers (`http[s]://host[:port][/path]`, and
//! `h2c://` for HTTP/2 in clear text with prior knowledge): parsing into
//! the parts the upstream client needs (the host is resolved by
//! `server_addr`).

use super::{DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT};

/// A parsed `http://` or `https://` URL, host not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `https`: TLS to the server.
    pub tls: bool,
    /// `h2c`: HTTP/2 with prior knowledge, in clear text (Traefik's scheme).
    pub h2c: bool,
    /// Host without brackets (an IPv6 literal is bare here).
    pub host: String,
    pub port: u16,
    /// `host[:port]` exactly as written.
    pub authority: String,
    /// The path without its trailing '/', "" if none.
    pub path_prefix: String,
}

/// Parses a server URL. `http`, `https` and `h2c` are accepted; anything a proxy
/// cannot forward to unambiguously (userinfo, query, fragment) is refused.
pub fn parse(url: &str) -> Result<UpstreamUrl, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not a URL (expected http://host[:port][/path])"))?;
    let (tls, h2c) = match scheme.to_ascii_lowercase().as_str() {
        "http" => (false, false),
        "https" => (true, false),
        "h2c" => (false, true),
        other => {
            return Err(format!(
                "scheme {other:?} is not supported (use http, https or h2c)"
            ));
        }
    };
    if rest.contains(['?', '#']) {
        return Err(format!(
            "{url:?}: query and fragment are not allowed in a server URL"
        ));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(format!(
            "{url:?}: credentials in server URLs are not supported"
        ));
    }
    let default_port = if tls {
        DEFAULT_HTTPS_PORT
    } else {
        DEFAULT_HTTP_PORT
    };
    let (host, port) =
        split_host_port(authority, default_port).map_err(|why| format!("{url:?}: {why}"))?;
    Ok(UpstreamUrl {
        tls,
        h2c,
        host,
        port,
        authority: authority.to_string(),
        path_prefix: path.trim_end_matches('/').to_string(),
    })
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    let bracketed = authority.starts_with('[');
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unclosed '[' in host")?;
        host.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{host:?} is not an IPv6 address"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    let name_chars = |c: char| c.is_ascii_alphanumeric() || "-._".contains(c);
    if !bracketed && !host.chars().all(name_chars) {
        return Err(format!("{host:?} is not a valid host name"));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("port {p:?} must be a number from 1 to 65535"))?,
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> UpstreamUrl {
        parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn host_port_and_default_port() {
        let u = ok("http://127.0.0.1:9000");
        assert_eq!(
            (u.host.as_str(), u.port, u.authority.as_str()),
            ("127.0.0.1", 9000, "127.0.0.1:9000")
        );
        assert_eq!(u.path_prefix, "");
        let u = ok("HTTP://app.internal");
        assert_eq!(
            (u.host.as_str(), u.port, u.authority.as_str()),
            ("app.internal", 80, "app.internal")
        );
    }

    #[test]
    fn ipv6_literal() {
        let u = ok("http://[::1]:8080/");
        assert_eq!(
            (u.host.as_str(), u.port, u.authority.as_str()),
            ("::1", 8080, "[::1]:8080")
        );
        assert_eq!(ok("http://[::1]").port, 80);
    }

    #[test]
    fn path_prefix_drops_trailing_slash() {
        assert_eq!(ok("http://h/").path_prefix, "");
        assert_eq!(ok("http://h/api").path_prefix, "/api");
        assert_eq!(ok("http://h:1/api/v1/").path_prefix, "/api/v1");
    }

    #[test]
    fn https_defaults_to_port_443() {
        let u = ok("HTTPS://app.internal");
        assert!(u.tls);
        assert_eq!((u.port, u.authority.as_str()), (443, "app.internal"));
        let u = ok("https://10.0.0.1:8443/x");
        assert_eq!((u.tls, u.port), (true, 8443));
        assert!(!ok("http://h").tls);
    }

    #[test]
    fn h2c_is_clear_text_http2_on_port_80() {
        let u = ok("h2c://grpc.internal");
        assert_eq!((u.h2c, u.tls, u.port), (true, false, 80));
        assert!(!ok("http://h").h2c);
    }

    #[test]
    fn garbage_rejected() {
        for bad in [
            "",
            "h:80",
            "127.0.0.1:80",
            "ftp://h",
            "http://",
            "http://:80",
            "http://h:0",
            "http://h:99999",
            "http://h:x",
            "http://u:p@h",
            "http://h/?q",
            "http://h#f",
            "http://[::1",
            "http://[zz]:80",
            "http://bad host",
            "http://h:80:90",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
