//! HTTP router rules (Traefik v3 syntax): parsing, evaluation, and the compiled,
//! host-indexed table that picks the router for a request.
//!
//! This file owns the public contract (request view, error type, `Rule`,
//! `RouteEntry`); the work lives in submodules:
//! - `parse`: lexer and recursive-descent parser, rule text → `Expr`.
//! - `rule`: the AST, matcher construction/validation and evaluation.
//! - `host`: request-host normalization into a stack buffer.
//! - `query`: allocation-free walking and percent-decoding of raw query strings.
//! - `table`: `RouterTable`, sorted routes plus an exact-host index.
//!
//! Semantics follow Traefik v3 with a few documented, deliberate choices:
//! `Path`/`PathPrefix`/`PathRegexp` look at the raw (not percent-decoded) path,
//! `HostRegexp` sees the host without port (as received, case kept), and
//! one-argument `Query(`k`)` means "key present with any value".

use std::net::IpAddr;

mod host;
mod parse;
mod query;
mod rule;
mod table;
pub mod tcp;
#[cfg(test)]
mod tcp_fuzz_tests;

#[cfg(test)]
pub(crate) mod fuzz_tests;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod tests;

pub use table::RouterTable;
// The rule grammar, shared with TCP rules (`tcp::rule`).
pub(crate) use parse::parse_with;
pub(crate) use rule::{Expr, ip_net, unmap};

/// Looks up request header values without the router knowing the codec's layout.
pub trait HeaderLookup {
    /// Calls `f` with each value of header `name` (ASCII case-insensitive), in order,
    /// until `f` returns true; returns whether it did.
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool;
}

/// What a rule can look at. All slices borrow the request buffer.
pub struct RequestInfo<'a> {
    pub method: &'a [u8],
    /// Host header (or absolute-form authority) as received, port included if sent.
    pub host: &'a [u8],
    /// Path without the query string, as received (not percent-decoded).
    pub path: &'a [u8],
    /// Raw query string without the leading '?', empty if none.
    pub query: &'a [u8],
    pub client_ip: IpAddr,
    pub headers: &'a dyn HeaderLookup,
    /// The request came over TLS (scheme `https`); middlewares that build URLs
    /// or send HSTS need it.
    pub tls: bool,
    /// The peer may set its own `X-Forwarded-*` (`forwardedHeaders.trustedIPs`
    /// or `insecure`). When false, Traefik has dropped them before middlewares
    /// run, so a middleware reading one must act as if it were absent.
    pub forwarded_trusted: bool,
    /// The client certificate chain of an mTLS connection (`passTLSClientCert`).
    pub client_certs: Option<&'a crate::net::client_certs::ClientCerts>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

/// A parsed, validated rule. Regexes are compiled once here and shared by clones.
#[derive(Debug, Clone)]
pub struct Rule {
    expr: rule::Expr,
    src: Box<str>,
}

impl Rule {
    /// Parses Traefik v3 rule text, e.g. ``Host(`a.com`) && PathPrefix(`/api`)``.
    pub fn parse(src: &str) -> Result<Rule, RuleError> {
        let expr = parse::parse(src)?;
        Ok(Rule {
            expr,
            src: src.into(),
        })
    }

    /// Evaluates the rule against one request.
    pub fn matches(&self, req: &RequestInfo<'_>) -> bool {
        let key = host::HostKey::new(req.host);
        self.expr.eval(&rule::Ctx::new(req, &key))
    }

    /// Traefik's default priority: the length of the rule text in bytes.
    /// The caller (config compile) applies it when no explicit priority is set.
    pub fn default_priority(src: &str) -> i64 {
        i64::try_from(src.len()).unwrap_or(i64::MAX)
    }

    /// The rule text this was parsed from.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The finite set of (normalized, lowercase) hosts outside which this rule can
    /// never match, or `None` if it is not bound to such a set. An empty set means
    /// the rule can never match (e.g. ``Host(`a`) && Host(`b`)``).
    pub fn hosts(&self) -> Option<Vec<String>> {
        self.expr.required_hosts().map(|set| {
            set.into_iter()
                .map(|h| String::from_utf8_lossy(&h).into_owned())
                .collect()
        })
    }

    /// Every `Host` value in the rule, in order, without repeats: the names
    /// Traefik's ACME provider obtains a certificate for (`ParseDomains`).
    pub fn host_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.expr.each_host(&mut |h| {
            let h = String::from_utf8_lossy(h).into_owned();
            if !out.contains(&h) {
                out.push(h);
            }
        });
        out
    }
}

/// One router as the table sees it.
pub struct RouteEntry {
    pub rule: Rule,
    /// Effective priority (the caller already applied "default = rule length").
    pub priority: i64,
    /// Router name: tie-break for equal priorities (ascending).
    pub name: String,
    /// Caller's id, returned by `find`.
    pub id: u32,
}
