//! `redirectScheme` and `redirectRegex` as Traefik v3 defines them. Both
//! rebuild the request's URL (`scheme://host[:port]/path?query`), derive the
//! target, and answer with a redirect when it differs; an unchanged URL goes
//! on down the chain. The status is 302 for GET and 307 otherwise, or with
//! `permanent` 301 for GET and 308 otherwise; the body is Go's status text.
//!
//! - redirectScheme: the request's scheme is `https` over TLS, else `http`,
//!   overridden by `X-Forwarded-Proto` (`ws`/`wss` count as `http`/`https`)
//!   from a peer allowed to send it; the port is dropped when it is the
//!   scheme's default. The target keeps the host and path, takes the new scheme
//!   and the configured port (none when it is the new scheme's default).
//! - redirectRegex: the URL is the scheme from TLS, the Host as received and
//!   the request target; the target is `regex` replaced by `replacement`.
//!
//! Both URLs are built in a per-thread buffer, so a request that is not
//! redirected allocates nothing (a regex replacement allocates when it matches).

use std::cell::RefCell;

use regex::bytes::Regex;

use super::{Edits, Flow, HeaderOp, RequestInfo, go_url, status_text};

const XFP: &str = "X-Forwarded-Proto";

thread_local! {
    /// Holds the request's URL and then the target: per thread (a worker runs
    /// one request phase at a time), so no lock and, once warm, no allocation.
    static URL: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}

/// `redirectScheme`.
#[derive(Debug)]
pub struct RedirectScheme {
    pub scheme: String,
    /// `:port`, or empty when none is configured or it is the scheme's default.
    pub port: String,
    pub permanent: bool,
}

impl RedirectScheme {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        URL.with_borrow_mut(|url| {
            let scheme = request_scheme(req);
            let (host, mut port) = split_port(req.host);
            if (scheme == "http" && port == b":80") || (scheme == "https" && port == b":443") {
                port = b"";
            }
            url.clear();
            for part in [scheme.as_bytes(), b"://", host, port] {
                url.extend_from_slice(part);
            }
            push_target(req, url);
            let start = scheme.len() + 3;
            let (host_end, port_end) = authority_groups(&url[start..]);
            let (host_end, port_end) = (start + host_end, start + port_end);
            if self.scheme == scheme && self.port.as_bytes() == &url[host_end..port_end] {
                return go_on(url, edits);
            }
            let old = url.len();
            url.extend_from_slice(self.scheme.as_bytes());
            url.extend_from_slice(b"://");
            url.extend_from_within(start..host_end);
            url.extend_from_slice(self.port.as_bytes());
            url.extend_from_within(port_end..old);
            redirect(req, edits, &url[old..], self.permanent)
        })
    }
}

/// `redirectRegex`.
#[derive(Debug)]
pub struct RedirectRegex {
    pub regex: Regex,
    pub replacement: String,
    pub permanent: bool,
}

impl RedirectRegex {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        URL.with_borrow_mut(|url| {
            url.clear();
            let scheme: &[u8] = if req.tls { b"https://" } else { b"http://" };
            url.extend_from_slice(scheme);
            url.extend_from_slice(req.host);
            push_target(req, url);
            if !self.regex.is_match(url) {
                return Flow::Next;
            }
            let target = self.regex.replace_all(url, self.replacement.as_bytes());
            if target[..] == url[..] {
                return go_on(url, edits);
            }
            redirect(req, edits, &target, self.permanent)
        })
    }
}

/// `https` over TLS, else `http`; a trusted peer's `X-Forwarded-Proto` wins
/// when it names one of them (or `ws`/`wss`).
fn request_scheme(req: &RequestInfo<'_>) -> &'static str {
    let mut scheme = if req.tls { "https" } else { "http" };
    if req.forwarded_trusted {
        req.headers.any_value(XFP, &mut |v| {
            if v.eq_ignore_ascii_case(b"http") || v.eq_ignore_ascii_case(b"ws") {
                scheme = "http";
            } else if v.eq_ignore_ascii_case(b"https") || v.eq_ignore_ascii_case(b"wss") {
                scheme = "https";
            }
            true
        });
    }
    scheme
}

/// Host and `:port` as Go's `SplitHostPort` cuts them (the whole Host when it
/// cannot); an IPv6 literal keeps its brackets so the URL stays valid.
fn split_port(host: &[u8]) -> (&[u8], &[u8]) {
    let Some(colon) = host.iter().rposition(|&b| b == b':') else {
        return (host, b"");
    };
    let ok = if host.starts_with(b"[") {
        host.iter().position(|&b| b == b']') == Some(colon.wrapping_sub(1))
    } else {
        !host[..colon]
            .iter()
            .any(|&b| matches!(b, b':' | b'[' | b']'))
    };
    if ok {
        host.split_at(colon)
    } else {
        (host, b"")
    }
}

/// Appends the request target: path, then `?query` when there is one.
fn push_target(req: &RequestInfo<'_>, url: &mut Vec<u8>) {
    url.extend_from_slice(req.path);
    if !req.query.is_empty() {
        url.push(b'?');
        url.extend_from_slice(req.query);
    }
}

/// Where Traefik's pattern `(\[[\w:.]+\]|[\w._-]+)?(:\d+)?(.*)` puts the ends
/// of its host and port groups in `s` (the URL after `scheme://`).
fn authority_groups(s: &[u8]) -> (usize, usize) {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let host = if s.first() == Some(&b'[') {
        let n = s[1..]
            .iter()
            .take_while(|b| word(b) || **b == b':' || **b == b'.')
            .count();
        if n > 0 && s.get(n + 1) == Some(&b']') {
            n + 2
        } else {
            0
        }
    } else {
        s.iter()
            .take_while(|b| word(b) || **b == b'.' || **b == b'-')
            .count()
    };
    let rest = &s[host..];
    let digits = match rest.first() {
        Some(b':') => rest[1..].iter().take_while(|b| b.is_ascii_digit()).count(),
        _ => 0,
    };
    let port = if digits > 0 { host + 1 + digits } else { host };
    (host, port)
}

/// The URL is unchanged: go on, unless Go could not parse it (Traefik's 502).
fn go_on(url: &[u8], edits: &mut Edits) -> Flow {
    if go_url::parses(url) {
        Flow::Next
    } else {
        bad_gateway(edits)
    }
}

fn redirect(req: &RequestInfo<'_>, edits: &mut Edits, target: &[u8], permanent: bool) -> Flow {
    if !go_url::parses(target) {
        return bad_gateway(edits);
    }
    let get = req.method == b"GET";
    let status = match (permanent, get) {
        (false, true) => 302,
        (false, false) => 307,
        (true, true) => 301,
        (true, false) => 308,
    };
    edits.response_header(HeaderOp::Set, b"Location", target);
    edits.answer(status, text(status));
    Flow::Answer
}

fn bad_gateway(edits: &mut Edits) -> Flow {
    edits.answer(502, text(502));
    Flow::Answer
}

fn text(status: u16) -> &'static [u8] {
    status_text(status).unwrap_or_default().as_bytes()
}

#[cfg(test)]
#[path = "redirect_tests.rs"]
mod tests;
