//! CORS as Traefik's headers middleware does it: an `OPTIONS` request with
//! `Origin` and `Access-Control-Request-Method` is a preflight and is answered
//! here (200, empty body, no call to the service); every other response gets
//! `Access-Control-Allow-Origin` when the request's `Origin` is allowed, the
//! credentials and expose headers, and `Vary: Origin` when asked.

use regex::bytes::Regex;

use super::{Headers, first_value};
use crate::middleware::{Edits, HeaderOp, RequestInfo};

const ALLOW_ORIGIN: &[u8] = b"Access-Control-Allow-Origin";
const ALLOW_CREDENTIALS: &[u8] = b"Access-Control-Allow-Credentials";
const EXPOSE: &[u8] = b"Access-Control-Expose-Headers";

/// The CORS options, lists joined with `,` as Traefik sends them.
#[derive(Debug, Default)]
pub struct Cors {
    pub credentials: bool,
    pub allow_headers: String,
    /// `*` is listed in `accessControlAllowHeaders`.
    pub allow_headers_any: bool,
    pub allow_methods: String,
    pub allow_methods_any: bool,
    pub origins: Vec<String>,
    pub origin_regexes: Vec<Regex>,
    pub expose: String,
    pub expose_any: bool,
    pub max_age: Option<String>,
    /// The Vary edit `addVaryHeader` makes (resolved with the custom response
    /// headers at compile time), if asked.
    pub vary: Option<(HeaderOp, String)>,
}

/// Which allowed origin a request's `Origin` matched.
enum Allowed {
    /// Answer with this list entry (the origin itself, or `*`).
    Item(usize),
    /// Answer with the request's origin (`*` with credentials, or a regex).
    Echo,
}

impl Cors {
    /// Answers a preflight request; false when `req` is not one.
    pub fn preflight(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> bool {
        if req.method != b"OPTIONS"
            || !first_non_empty(req, "Origin")
            || !first_non_empty(req, "Access-Control-Request-Method")
        {
            return false;
        }
        if self.credentials {
            edits.response_header(HeaderOp::Set, ALLOW_CREDENTIALS, b"true");
        }
        let allow = b"Access-Control-Allow-Headers";
        if self.allow_headers_any && self.credentials {
            first_value(req, "Access-Control-Request-Headers", &mut |v| {
                if !v.is_empty() {
                    edits.response_header(HeaderOp::Set, allow, v);
                }
            });
        } else if !self.allow_headers.is_empty() {
            edits.response_header(HeaderOp::Set, allow, self.allow_headers.as_bytes());
        }
        let methods = b"Access-Control-Allow-Methods";
        if self.allow_methods_any && self.credentials {
            first_value(req, "Access-Control-Request-Method", &mut |v| {
                edits.response_header(HeaderOp::Set, methods, v);
            });
        } else if !self.allow_methods.is_empty() {
            edits.response_header(HeaderOp::Set, methods, self.allow_methods.as_bytes());
        }
        first_value(req, "Origin", &mut |origin| {
            self.allow_origin(origin, edits);
        });
        if let Some(age) = &self.max_age {
            edits.response_header(HeaderOp::Set, b"Access-Control-Max-Age", age.as_bytes());
        }
        self.expose_headers(edits);
        // An empty 200 as Go writes it: `Content-Length: 0`, no Content-Type.
        edits.response_header(HeaderOp::Remove, b"Content-Type", b"");
        edits.answer(200, b"");
        true
    }

    /// The CORS headers of any other response (after the custom ones).
    pub fn response_headers(&self, req: &RequestInfo<'_>, h: &Headers, edits: &mut Edits) {
        let mut seen = false;
        h.with_request_header(req, "Origin", &mut |origin| {
            seen = true;
            self.allow_origin(origin, edits);
        });
        if !seen {
            // Go's `Header.Get` gives "" for a missing Origin, which `*` allows.
            self.allow_origin(b"", edits);
        }
        if self.credentials {
            edits.response_header(HeaderOp::Set, ALLOW_CREDENTIALS, b"true");
        }
        self.expose_headers(edits);
        if let Some((op, value)) = &self.vary {
            edits.response_header(*op, b"Vary", value.as_bytes());
        }
    }

    fn allow_origin(&self, origin: &[u8], edits: &mut Edits) {
        match self.matches(origin) {
            Some(Allowed::Item(i)) => {
                edits.response_header(HeaderOp::Set, ALLOW_ORIGIN, self.origins[i].as_bytes())
            }
            Some(Allowed::Echo) => edits.response_header(HeaderOp::Set, ALLOW_ORIGIN, origin),
            None => {}
        }
    }

    /// Traefik's origin match: the list in order (an exact entry, or `*`, which
    /// echoes the origin when credentials are allowed), then the regexes
    /// (unanchored, echoing the origin).
    fn matches(&self, origin: &[u8]) -> Option<Allowed> {
        for (i, item) in self.origins.iter().enumerate() {
            if item.as_bytes() == origin {
                return Some(Allowed::Item(i));
            }
            if item == "*" {
                return Some(if self.credentials {
                    Allowed::Echo
                } else {
                    Allowed::Item(i)
                });
            }
        }
        self.origin_regexes
            .iter()
            .any(|re| re.is_match(origin))
            .then_some(Allowed::Echo)
    }

    /// `*` cannot be exposed with credentials, so Traefik then sends nothing.
    fn expose_headers(&self, edits: &mut Edits) {
        let withheld = self.expose_any && self.credentials;
        if !self.expose.is_empty() && !withheld {
            edits.response_header(HeaderOp::Set, EXPOSE, self.expose.as_bytes());
        }
    }
}

/// Whether the first value of the request's header `name` is non-empty (Go's
/// `Header.Get(name) != ""`).
fn first_non_empty(req: &RequestInfo<'_>, name: &str) -> bool {
    let mut found = false;
    first_value(req, name, &mut |v| found = !v.is_empty());
    found
}
