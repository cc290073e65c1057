//! HTTP router rules (Traefik v3 syntax): parsing, evaluation, and the compiled,
//! host-indexed table that picks the router for a request.
//!
//! CONTRACT STUB — replaced by the router implementation. Public API below is fixed.

use std::net::IpAddr;

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
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

#[derive(Debug, Clone)]
pub struct Rule;

impl Rule {
    pub fn parse(_src: &str) -> Result<Rule, RuleError> {
        todo!()
    }
    pub fn matches(&self, _req: &RequestInfo<'_>) -> bool {
        todo!()
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

pub struct RouterTable;

impl RouterTable {
    pub fn build(_routes: Vec<RouteEntry>) -> RouterTable {
        todo!()
    }
    pub fn find(&self, _req: &RequestInfo<'_>) -> Option<u32> {
        todo!()
    }
    pub fn len(&self) -> usize {
        todo!()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
