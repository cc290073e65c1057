//! `forwardAuth`: before the service, the request's head (and, with
//! `forwardBody`, its body) is sent to an authentication server; a 2xx answer
//! lets the request go on with the headers the server named copied onto it,
//! anything else is the client's answer. The call itself is asynchronous and
//! belongs to the protocol layer (`http::server::forward_auth`): the request
//! phase only stops at this middleware ([`crate::middleware::Flow::Call`]) and
//! the chain resumes after it. What lives here is the compiled definition and
//! the pure decisions (which headers go where, how `Location` is resolved),
//! written after Traefik's `pkg/middlewares/auth/forward.go`.

use std::net::SocketAddr;

use regex::Regex;

/// Traefik's default for `maxBodySize` (`ForwardAuthDefaultMaxBodySize`):
/// no limit.
pub const DEFAULT_MAX_BODY_SIZE: i64 = -1;
/// Traefik's auth client gives up after 30 s (`http.Client.Timeout`); the
/// auth server unreachable or too slow is a 500.
pub const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A compiled `forwardAuth` definition.
#[derive(Debug)]
pub struct ForwardAuth {
    /// The auth server, resolved when the configuration was compiled.
    pub addr: SocketAddr,
    /// `https://` addresses: the TLS client and the name to verify.
    pub tls: Option<std::sync::Arc<crate::net::upstream_tls::TlsTarget>>,
    /// `host[:port]` as written: the auth request's Host.
    pub authority: String,
    /// Path and query of the address (`/` when it has none): the auth
    /// request's target.
    pub target: String,
    /// `None`: Traefik's legacy behaviour when `trustForwardHeader` is unset.
    pub trust_forward_header: Option<bool>,
    /// Canonical names (Go's `CanonicalHeaderKey`).
    pub auth_response_headers: Vec<String>,
    pub auth_response_headers_regex: Option<Regex>,
    /// Lower-case names; empty: every request header goes.
    pub auth_request_headers: Vec<String>,
    /// `None`: no limit.
    pub max_response_body_size: Option<u64>,
    pub add_auth_cookies_to_response: Vec<String>,
    pub forward_body: bool,
    /// `None`: no limit.
    pub max_body_size: Option<u64>,
    pub preserve_location_header: bool,
    pub preserve_request_method: bool,
    /// Where a 401 from the auth server sends the client instead (302).
    pub auth_signin_url: Option<String>,
}

/// The X- headers Traefik manages (`forwardedheaders.XHeadersSet`): removed
/// from the auth request unless `trustForwardHeader`, and always let through
/// `authRequestHeaders` when it is.
pub const X_HEADERS: [&str; 13] = [
    "X-Forwarded-Proto",
    "X-Forwarded-Scheme",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "X-Forwarded-Server",
    "X-Forwarded-Uri",
    "X-Forwarded-Method",
    "X-Forwarded-Prefix",
    "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info",
    "X-Scheme",
    "X-Real-Ip",
];

/// Hop-by-hop fields never sent to the auth server nor copied from its
/// answer (Traefik's `hopHeaders`), plus the framing and Host this client
/// writes itself.
const NOT_COPIED: [&str; 8] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
];

impl ForwardAuth {
    /// Whether a client request field goes to the auth server. `connection`
    /// is the client's Connection field values (the names it lists are hop-by-hop).
    pub fn sends(&self, name: &[u8], connection: &[&[u8]]) -> bool {
        if is_one_of(name, &NOT_COPIED) || connection.iter().any(|c| listed(c, name)) {
            return false;
        }
        if self.trust_forward_header != Some(true) && is_x_header(name) {
            // Unset trust: the legacy writer sets its own X-Forwarded-For,
            // -Proto, -Method, -Host and -Uri; the other X- headers pass.
            if self.trust_forward_header == Some(false) || is_generated(name) {
                return false;
            }
        }
        if self.auth_request_headers.is_empty() {
            return true;
        }
        let trusted_x = self.trust_forward_header == Some(true) && is_x_header(name);
        trusted_x
            || self
                .auth_request_headers
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether a field of the auth server's 2xx answer is copied onto the
    /// request (`authResponseHeaders`, `authResponseHeadersRegex`).
    pub fn copies(&self, name: &[u8]) -> bool {
        self.named(name) || self.regex_matches(name)
    }

    /// Named in `authResponseHeaders` (those are removed from the request
    /// even when the auth server did not send them).
    pub fn named(&self, name: &[u8]) -> bool {
        self.auth_response_headers
            .iter()
            .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Go matches the regex against the canonical form of the name.
    pub fn regex_matches(&self, name: &[u8]) -> bool {
        let Some(re) = &self.auth_response_headers_regex else {
            return false;
        };
        let mut canon = String::new();
        canonical_key(name, &mut canon);
        re.is_match(&canon)
    }

    /// Whether an auth answer's field is passed to the client with a denial.
    pub fn passes_back(name: &[u8]) -> bool {
        !is_one_of(name, &NOT_COPIED[..6]) && !name.eq_ignore_ascii_case(b"content-length")
    }

    /// Whether an auth `Set-Cookie` goes to the client with the upstream's answer.
    pub fn adds_cookie(&self, set_cookie: &[u8]) -> bool {
        let name = cookie_name(set_cookie);
        self.add_auth_cookies_to_response
            .iter()
            .any(|c| c.as_bytes() == name)
    }

    /// The `Location` sent to the client with a denial: as the auth server
    /// wrote it with `preserveLocationHeader`, else resolved against the auth
    /// address (Go's `Response.Location`).
    pub fn location(&self, value: &str) -> String {
        if self.preserve_location_header {
            return value.to_string();
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        resolve_reference(scheme, &self.authority, &self.target, value)
    }
}

/// The cookie name of a `Set-Cookie` value (before `=`, trimmed).
pub fn cookie_name(set_cookie: &[u8]) -> &[u8] {
    let end = set_cookie
        .iter()
        .position(|&b| b == b'=' || b == b';')
        .unwrap_or(set_cookie.len());
    set_cookie[..end].trim_ascii()
}

/// Whether `name` is one of Traefik's managed X- headers (any case).
pub fn is_x_header(name: &[u8]) -> bool {
    X_HEADERS
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

/// The X-Forwarded fields the auth request always has (set by the writer).
fn is_generated(name: &[u8]) -> bool {
    is_one_of(
        name,
        &[
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-method",
            "x-forwarded-host",
            "x-forwarded-uri",
        ],
    )
}

fn is_one_of(name: &[u8], list: &[&str]) -> bool {
    list.iter().any(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

/// Whether a Connection field value lists `name`.
fn listed(connection: &[u8], name: &[u8]) -> bool {
    connection
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(name))
}

/// Go's `CanonicalHeaderKey`: the first letter and each letter after `-`
/// upper case, the rest lower case (names with other characters than token
/// ones are left as they are).
pub fn canonical_key(name: &[u8], out: &mut String) {
    out.clear();
    let valid = name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let mut upper = true;
    for &b in name {
        let c = if !valid {
            b
        } else if upper {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        };
        out.push(c as char);
        upper = b == b'-';
    }
}

/// `value` resolved against `scheme://authority` + `target` (RFC 3986 §5.2,
/// enough of it for a Location header: absolute URLs stay, `//host/p` gets
/// the scheme, `/p` the authority, a relative path the base's directory).
pub fn resolve_reference(scheme: &str, authority: &str, target: &str, value: &str) -> String {
    let has_scheme = value.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && s.as_bytes()[0].is_ascii_alphabetic()
    });
    if has_scheme {
        return value.to_string();
    }
    if let Some(rest) = value.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    if value.starts_with('/') {
        return format!("{scheme}://{authority}{value}");
    }
    let base_path = target.split('?').next().unwrap_or("/");
    if value.is_empty() {
        return format!("{scheme}://{authority}{target}");
    }
    if value.starts_with('?') {
        return format!("{scheme}://{authority}{base_path}{value}");
    }
    let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
    format!("{scheme}://{authority}{dir}{value}")
}

#[cfg(test)]
#[path = "forward_auth_tests.rs"]
mod tests;
