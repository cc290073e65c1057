//! `grpcWeb`: Traefik's gRPC-Web to gRPC conversion (it wraps the
//! improbable-eng/traefik `grpcweb` package with rs/cors). The request phase
//! lives here; the conversion of the body and the response is done where
//! they stream (`http::grpc_web`, `http::proxy::upstream_h2`) from the
//! [`Mode`] recorded in [`Edits`], with the byte-level pieces in [`codec`].
//!
//! Which requests it takes, as the wrapper decides:
//! - a `POST` whose first Content-Type starts with `application/grpc-web`
//!   (`-text` is base64, both ways): converted, with rs/cors's headers for an
//!   actual request (`Vary: Origin`, and for an allowed `Origin` the origin
//!   echoed with `Access-Control-Allow-Credentials: true`);
//! - an `OPTIONS` whose `Access-Control-Request-Headers` mentions
//!   `x-grpc-web`: with `Access-Control-Request-Method` it is a preflight,
//!   answered here with 200 (rs/cors 1.7), the allow headers only for an
//!   allowed origin and method; without, it is converted like a POST.
//!
//! Everything else goes on untouched. `allowOrigins` holds exact origins or
//! `*` (any origin, still echoed: credentials are always allowed).

use super::{Edits, Flow, HeaderOp, RequestInfo};

pub mod codec;

/// rs/cors's `MaxAge` as the grpcweb wrapper sets it (10 minutes).
pub const PREFLIGHT_MAX_AGE: &[u8] = b"600";
const GRPC_WEB: &[u8] = b"application/grpc-web";
const GRPC_WEB_TEXT: &[u8] = b"application/grpc-web-text";
const GRPC: &[u8] = b"application/grpc";

/// How the body of a converted request and its response are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `application/grpc-web[+proto]`: gRPC frames as they are.
    Binary,
    /// `application/grpc-web-text[+proto]`: the same frames in base64.
    Text,
}

impl Mode {
    /// The response Content-Type that replaces `application/grpc`.
    pub fn content_type(self) -> &'static [u8] {
        match self {
            Mode::Binary => GRPC_WEB,
            Mode::Text => GRPC_WEB_TEXT,
        }
    }
}

#[derive(Debug)]
pub struct GrpcWeb {
    /// `allowOrigins` without `*`, compared exactly.
    pub origins: Vec<String>,
    /// `*` is listed.
    pub any_origin: bool,
}

impl GrpcWeb {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let mut mode = None;
        with_first(req, "Content-Type", &mut |v| {
            mode = v
                .starts_with(GRPC_WEB)
                .then_some(if v.starts_with(GRPC_WEB_TEXT) {
                    Mode::Text
                } else {
                    Mode::Binary
                });
        });
        let options = req.method == b"OPTIONS";
        let mut cors = false;
        if options {
            with_first(req, "Access-Control-Request-Headers", &mut |v| {
                cors = v.windows(10).any(|w| w.eq_ignore_ascii_case(b"x-grpc-web"));
            });
        }
        let web_post = req.method == b"POST" && mode.is_some();
        if !cors && !web_post {
            return Flow::Next;
        }
        let mut preflight = false;
        if options {
            with_first(req, "Access-Control-Request-Method", &mut |v| {
                preflight = !v.is_empty();
            });
        }
        if preflight {
            self.preflight(req, edits);
            return Flow::Answer;
        }
        if !options {
            edits.response_header(HeaderOp::Add, b"Vary", b"Origin");
            with_first(req, "Origin", &mut |origin| {
                // rs/cors checks the method of an actual request too.
                if self.allows(origin) && cors_method(req.method) {
                    let allow = b"Access-Control-Allow-Origin";
                    edits.response_header(HeaderOp::Set, allow, origin);
                    let creds = b"Access-Control-Allow-Credentials";
                    edits.response_header(HeaderOp::Set, creds, b"true");
                }
            });
        }
        if let Some(m) = mode {
            with_first(req, "Content-Type", &mut |v| {
                // The first occurrence, which is the prefix: `+proto` stays.
                let rest = &v[m.content_type().len()..];
                edits.request_header_built(HeaderOp::Set, b"Content-Type", |out| {
                    out.extend_from_slice(GRPC);
                    out.extend_from_slice(rest);
                });
            });
        }
        // gRPC over HTTP/2 requires it; browsers cannot send it.
        edits.request_header(HeaderOp::Set, b"TE", b"trailers");
        edits.set_grpc_web(mode.unwrap_or(Mode::Binary));
        Flow::Next
    }

    /// rs/cors 1.7's preflight: the Vary fields always, the rest only for
    /// an allowed origin and method; 200 with an empty body either way.
    fn preflight(&self, req: &RequestInfo<'_>, edits: &mut Edits) {
        for v in [
            &b"Origin"[..],
            b"Access-Control-Request-Method",
            b"Access-Control-Request-Headers",
        ] {
            edits.response_header(HeaderOp::Add, b"Vary", v);
        }
        let mut method = Vec::new();
        with_first(req, "Access-Control-Request-Method", &mut |v| {
            method = v.to_ascii_uppercase();
        });
        let mut asked = Vec::new();
        with_first(req, "Access-Control-Request-Headers", &mut |v| {
            asked = canonical_list(v);
        });
        with_first(req, "Origin", &mut |origin| {
            if !self.allows(origin) || !cors_method(&method) {
                return;
            }
            edits.response_header(HeaderOp::Set, b"Access-Control-Allow-Origin", origin);
            edits.response_header(HeaderOp::Set, b"Access-Control-Allow-Methods", &method);
            if !asked.is_empty() {
                edits.response_header(HeaderOp::Set, b"Access-Control-Allow-Headers", &asked);
            }
            edits.response_header(HeaderOp::Set, b"Access-Control-Allow-Credentials", b"true");
            edits.response_header(HeaderOp::Set, b"Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
        });
        // An empty 200 as Go writes it: `Content-Length: 0`, no Content-Type.
        edits.response_header(HeaderOp::Remove, b"Content-Type", b"");
        edits.answer(200, b"");
    }

    /// Traefik's origin function; an empty `Origin` is never a CORS request.
    fn allows(&self, origin: &[u8]) -> bool {
        !origin.is_empty()
            && (self.any_origin || self.origins.iter().any(|o| o.as_bytes() == origin))
    }
}

/// rs/cors's default allowed methods; OPTIONS always passes.
fn cors_method(method: &[u8]) -> bool {
    matches!(method, b"GET" | b"POST" | b"HEAD" | b"OPTIONS")
}

/// Calls `f` with the first value of `name`, or with "" when there is none
/// (Go's `Header.Get`).
fn with_first(req: &RequestInfo<'_>, name: &str, f: &mut dyn FnMut(&[u8])) {
    let found = req.headers.any_value(name, &mut |v| {
        f(v);
        true
    });
    if !found {
        f(b"");
    }
}

/// rs/cors's `parseHeaderList`: names split at `,` and spaces, only
/// letters, digits, `-`, `_` and `.` kept, canonicalized (`x-grpc-web` →
/// `X-Grpc-Web`), joined with `, `.
fn canonical_list(list: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(list.len() + 8);
    let mut word = false;
    let mut upper = true;
    for (i, &b) in list.iter().enumerate() {
        let kept = match b {
            b'a'..=b'z' | b'A'..=b'Z' => Some(if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            }),
            b'-' | b'_' | b'.' | b'0'..=b'9' => Some(b),
            _ => None,
        };
        if let Some(c) = kept {
            if !word && !out.is_empty() {
                out.extend_from_slice(b", ");
            }
            word = true;
            out.push(c);
        }
        if b == b' ' || b == b',' || i == list.len() - 1 {
            word = false;
            upper = true;
        } else {
            upper = b == b'-';
        }
    }
    out
}

#[cfg(test)]
#[path = "grpc_web/tests.rs"]
mod tests;
