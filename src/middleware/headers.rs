//! Traefik's `headers` middleware: custom request and response headers, CORS
//! (preflights answered here, response headers on the others) and the security
//! headers of unrolled/secure (`allowedHosts`, HSTS, frame options, CSP, …).
//!
//! Traefik stacks it as custom/CORS around secure around the service, so the
//! request phase runs in that order: a CORS preflight is answered before
//! anything else, custom request headers are applied before the host check
//! (which therefore sees a custom `Host`), and on the way back the secure
//! headers are set first and the custom and CORS ones over them. All names and
//! values are compiled with the snapshot; a request only copies them into its
//! [`Edits`].

use super::{Edits, Flow, HeaderOp, RequestInfo};

mod cors;
mod secure;

pub use cors::Cors;
pub use secure::Secure;

/// A custom header: set to `value`, or removed when `value` is empty.
#[derive(Debug)]
pub struct Custom {
    /// The name as Go's `http.Header` writes it (canonical form).
    pub name: String,
    pub value: String,
}

/// `headers`, compiled. At least one of its parts is configured.
#[derive(Debug)]
pub struct Headers {
    pub request: Vec<Custom>,
    pub response: Vec<Custom>,
    pub cors: Option<Cors>,
    pub secure: Option<Secure>,
}

impl Headers {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        if let Some(cors) = &self.cors
            && cors.preflight(req, edits)
        {
            return Flow::Answer;
        }
        for h in &self.request {
            let op = if h.value.is_empty() {
                HeaderOp::Remove
            } else {
                HeaderOp::Set
            };
            edits.request_header(op, h.name.as_bytes(), h.value.as_bytes());
        }
        if let Some(secure) = &self.secure {
            if !secure.host_allowed(req, self) {
                // Go's `http.Error` marks its text body nosniff; the custom and
                // CORS response headers still apply to it, as in Traefik.
                edits.response_header(HeaderOp::Set, b"X-Content-Type-Options", b"nosniff");
                self.response_headers(req, edits);
                edits.answer(500, b"Bad Host\n");
                return Flow::Answer;
            }
            secure.response_headers(req, self, edits);
        }
        self.response_headers(req, edits);
        Flow::Next
    }

    /// Custom response headers, then the CORS headers of a non-preflight request.
    fn response_headers(&self, req: &RequestInfo<'_>, edits: &mut Edits) {
        for h in &self.response {
            let op = if h.value.is_empty() {
                HeaderOp::Remove
            } else {
                HeaderOp::Set
            };
            edits.response_header(op, h.name.as_bytes(), h.value.as_bytes());
        }
        if let Some(cors) = &self.cors {
            cors.response_headers(req, self, edits);
        }
    }

    /// Calls `f` with the first value of request header `name` as the service
    /// would see it (after the custom request headers); nothing when it is absent.
    pub(crate) fn with_request_header(
        &self,
        req: &RequestInfo<'_>,
        name: &str,
        f: &mut dyn FnMut(&[u8]),
    ) {
        if let Some(h) = self
            .request
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
        {
            if !h.value.is_empty() {
                f(h.value.as_bytes());
            }
            return;
        }
        req.headers.any_value(name, &mut |v| {
            f(v);
            true
        });
    }

    /// The request's host as the service would see it (a custom `Host` wins).
    pub(crate) fn host<'a>(&'a self, req: &RequestInfo<'a>) -> &'a [u8] {
        self.request
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host") && !h.value.is_empty())
            .map_or(req.host, |h| h.value.as_bytes())
    }
}

/// Calls `f` with the first value of the request's own header `name`.
fn first_value(req: &RequestInfo<'_>, name: &str, f: &mut dyn FnMut(&[u8])) {
    req.headers.any_value(name, &mut |v| {
        f(v);
        true
    });
}
