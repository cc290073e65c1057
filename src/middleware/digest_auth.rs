//! `digestAuth` as Traefik v3 runs it (go-http-auth underneath, RFC 7616 with
//! MD5 and `qop=auth`): the first `Authorization` field must be a Digest
//! credential with our `opaque`, `algorithm` MD5 (or none), `qop=auth`, a
//! `uri` that is the request target (or, as go-http-auth allows, a URL whose
//! path is a prefix of the request path), a hex `nc`, and a `response` equal
//! to `MD5(HA1:nonce:nc:cnonce:qop:MD5(method:uri))` for the user's HA1
//! (compared in constant time). Otherwise 401 `401 Unauthorized\n` as
//! `text/plain` with a new challenge:
//! `Digest realm="<realm>", nonce="<nonce>", opaque="<opaque>", algorithm="MD5", qop="auth"`
//! (Traefik's quoting), plus `stale="true"` before `algorithm` when only the
//! nonce had expired. Nonces are self-validating ([`nonce`]), so the answer to
//! a challenge may come on any connection, to any worker, across reloads.
//!
//! Unlike go-http-auth, an unknown user is refused outright: there its HA1
//! reads as empty, which anyone can compute a response for.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use super::basic_auth::{AUTHORIZATION, UNAUTHORIZED};
use super::{Edits, Flow, HeaderOp, RequestInfo};

pub mod nonce;
mod params;

use nonce::Nonce;
use params::Params;

#[derive(Debug)]
pub struct DigestAuth {
    /// User name → HA1 (`md5(user:realm:password)` as written), this realm's only.
    users: BTreeMap<Box<[u8]>, Box<[u8]>>,
    realm: String,
    opaque: String,
    /// `Digest realm="<realm>", nonce="`: the challenge up to the nonce.
    head: String,
    /// The challenge after the nonce: fresh, and with `stale="true"`.
    tail: String,
    stale_tail: String,
    header_field: Option<String>,
    remove_header: bool,
}

/// What the check decided.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Refuse,
    /// Right credentials over an expired nonce.
    Stale,
}

impl DigestAuth {
    pub fn new(
        users: BTreeMap<Box<[u8]>, Box<[u8]>>,
        realm: &str,
        header_field: Option<String>,
        remove_header: bool,
    ) -> DigestAuth {
        let opaque = nonce::opaque();
        DigestAuth {
            users,
            head: format!("Digest realm=\"{realm}\", nonce=\""),
            tail: format!("\", opaque=\"{opaque}\", algorithm=\"MD5\", qop=\"auth\""),
            stale_tail: format!(
                "\", opaque=\"{opaque}\", stale=\"true\", algorithm=\"MD5\", qop=\"auth\""
            ),
            realm: realm.to_string(),
            opaque,
            header_field,
            remove_header,
        }
    }

    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        self.apply_at(req, edits, nonce::now())
    }

    /// [`apply`](Self::apply) at `now` (nanoseconds since the epoch).
    fn apply_at(&self, req: &RequestInfo<'_>, edits: &mut Edits, now: u64) -> Flow {
        let mut verdict = Verdict::Refuse;
        // Like Go's `Header.Get`: only the first field counts.
        req.headers.any_value(AUTHORIZATION, &mut |value| {
            verdict = self.check(req, value, now, edits);
            true
        });
        match verdict {
            Verdict::Pass => {
                if self.remove_header {
                    edits.request_header(HeaderOp::Remove, AUTHORIZATION.as_bytes(), b"");
                }
                Flow::Next
            }
            Verdict::Refuse | Verdict::Stale => {
                let tail = if verdict == Verdict::Stale {
                    &self.stale_tail
                } else {
                    &self.tail
                };
                let nonce = nonce::issue(now, self.realm.as_bytes());
                let parts = [self.head.as_bytes(), &nonce, tail.as_bytes()];
                edits.response_header_joined(HeaderOp::Set, b"WWW-Authenticate", &parts);
                edits.response_header(HeaderOp::Set, b"Content-Type", b"text/plain");
                edits.answer(401, UNAUTHORIZED);
                Flow::Answer
            }
        }
    }

    /// Checks one `Authorization` value; on success records the user header.
    fn check(&self, req: &RequestInfo<'_>, value: &[u8], now: u64, edits: &mut Edits) -> Verdict {
        let Some(p) = params::parse(value) else {
            return Verdict::Refuse;
        };
        let algorithm_ok = p.algorithm.is_none_or(|a| a == b"MD5");
        if p.opaque != self.opaque.as_bytes() || !algorithm_ok || p.qop != b"auth" {
            return Verdict::Refuse;
        }
        if !uri_matches(req, p.uri) || !self.response_matches(req, &p) {
            return Verdict::Refuse;
        }
        if !is_hex_u64(p.nc) {
            return Verdict::Refuse;
        }
        match nonce::check(p.nonce, self.realm.as_bytes(), now) {
            Nonce::Forged => return Verdict::Refuse,
            Nonce::Stale => return Verdict::Stale,
            Nonce::Fresh => {}
        }
        if let Some(field) = &self.header_field {
            edits.request_header(HeaderOp::Set, field.as_bytes(), p.username);
        }
        Verdict::Pass
    }

    /// Whether `response` is right for the user's HA1 (an unknown user costs
    /// the same hashing and never passes).
    fn response_matches(&self, req: &RequestInfo<'_>, p: &Params<'_>) -> bool {
        let known = self.users.get(p.username);
        let ha1: &[u8] = known.map_or(&[0u8; 32][..], |h| h);
        let ha2 = md5_hex(&[req.method, p.uri]);
        let expected = md5_hex(&[ha1, p.nonce, p.nc, p.cnonce, p.qop, &ha2]);
        nonce::ct_eq(&expected, p.response) && known.is_some()
    }
}

/// go-http-auth's URI rule: the request target itself, or a URL whose path
/// is a prefix of the request's path.
fn uri_matches(req: &RequestInfo<'_>, uri: &[u8]) -> bool {
    let target_is_uri = match uri.strip_prefix(req.path) {
        Some(b"") => req.query.is_empty(),
        Some(rest) => rest.strip_prefix(b"?") == Some(req.query),
        None => false,
    };
    if target_is_uri {
        return true;
    }
    if uri.iter().any(|b| b.is_ascii_control() || *b == b' ') {
        return false;
    }
    let mut path = uri
        .split(|&b| b == b'?' || b == b'#')
        .next()
        .unwrap_or_default();
    // An absolute URL: its path starts after `scheme://authority`.
    if let Some(at) = memchr::memmem::find(path, b"://") {
        let after = &path[at + 3..];
        path = after
            .iter()
            .position(|&b| b == b'/')
            .map_or(&b""[..], |slash| &after[slash..]);
    }
    req.path.starts_with(path)
}

/// An `nc` Go's `strconv.ParseUint(nc, 16, 64)` accepts.
fn is_hex_u64(nc: &[u8]) -> bool {
    let significant = nc.iter().skip_while(|&&b| b == b'0').count();
    !nc.is_empty() && significant <= 16 && nc.iter().all(u8::is_ascii_hexdigit)
}

/// Lowercase hex MD5 of `parts` joined by `:`.
fn md5_hex(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(part);
    }
    let mut out = [0u8; 32];
    nonce::hex(&h.finalize(), &mut out);
    out
}

#[cfg(test)]
mod tests;
