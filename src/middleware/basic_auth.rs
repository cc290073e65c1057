//! `basicAuth` as Traefik v3 runs it: the first `Authorization` field must be
//! `Basic base64(user:password)` (scheme case-insensitive) for a listed user
//! whose htpasswd secret matches; otherwise 401 `401 Unauthorized\n` as
//! `text/plain` with `WWW-Authenticate: Basic realm="<realm>"`. On success
//! `headerField` (when set) carries the user name upstream and `removeHeader`
//! drops `Authorization`. An unknown user still costs one check against some
//! user's secret, as in Traefik, so timing does not tell which users exist.
//! Verified credentials are remembered per worker ([`CredentialCache`]).

use std::cell::RefCell;
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

use super::credential_cache::CredentialCache;
use super::htpasswd::Secret;
use super::{Edits, Flow, HeaderOp, RequestInfo};

pub const AUTHORIZATION: &str = "Authorization";
pub(super) const UNAUTHORIZED: &[u8] = b"401 Unauthorized\n";

/// Go's `base64.StdEncoding`: padded, and lenient about trailing bits.
const STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

#[derive(Debug)]
pub struct BasicAuth {
    /// User name → secret. A later definition of a name replaces an earlier one.
    pub users: BTreeMap<Box<[u8]>, Secret>,
    /// Checked when the user is unknown (timing only; never authenticates).
    pub decoy: Secret,
    /// `Basic realm="<realm>"`, prepared once.
    pub challenge: String,
    /// Request header that receives the user name upstream, if any.
    pub header_field: Option<String>,
    pub remove_header: bool,
}

impl BasicAuth {
    /// Runs the check; `cache` is this worker's memory for this middleware.
    pub fn apply(
        &self,
        req: &RequestInfo<'_>,
        edits: &mut Edits,
        cache: Option<&RefCell<CredentialCache>>,
    ) -> Flow {
        let mut ok = false;
        // Like Go's `Header.Get`: only the first field counts.
        req.headers.any_value(AUTHORIZATION, &mut |value| {
            ok = self.check(value, cache, edits);
            true
        });
        if ok {
            if self.remove_header {
                edits.request_header(HeaderOp::Remove, AUTHORIZATION.as_bytes(), b"");
            }
            return Flow::Next;
        }
        deny(edits, self.challenge.as_bytes());
        Flow::Answer
    }

    /// Whether `value` holds valid credentials; records the user header if so.
    fn check(
        &self,
        value: &[u8],
        cache: Option<&RefCell<CredentialCache>>,
        edits: &mut Edits,
    ) -> bool {
        let Some(b64) = strip_scheme(value) else {
            return false;
        };
        let mut stack = [0u8; 384];
        let heap: Vec<u8>;
        let decoded: &[u8] = if b64.len() / 4 * 3 <= stack.len() {
            match STD.decode_slice(b64, &mut stack) {
                Ok(n) => &stack[..n],
                Err(_) => return false,
            }
        } else {
            // Unusually long credentials: the one case that allocates.
            match STD.decode(b64) {
                Ok(v) => {
                    heap = v;
                    &heap
                }
                Err(_) => return false,
            }
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        if !self.verified(value, user, password, cache) {
            return false;
        }
        if let Some(field) = &self.header_field {
            edits.request_header(HeaderOp::Set, field.as_bytes(), user);
        }
        true
    }

    fn verified(
        &self,
        value: &[u8],
        user: &[u8],
        password: &[u8],
        cache: Option<&RefCell<CredentialCache>>,
    ) -> bool {
        let Some(secret) = self.users.get(user) else {
            self.decoy.verify(password);
            return false;
        };
        let Some(cache) = cache else {
            return secret.verify(password);
        };
        let key = cache.borrow().key(value);
        if cache.borrow_mut().hit(&key) {
            return true;
        }
        // Not borrowed across the (slow) verification.
        let ok = secret.verify(password);
        log::debug!(
            "basicAuth: checked the password of user {} (not in this worker's cache): {}",
            String::from_utf8_lossy(user),
            if ok { "valid" } else { "wrong" }
        );
        if ok {
            cache.borrow_mut().insert(key);
        }
        ok
    }
}

/// The credentials after `Basic ` (scheme compared case-insensitively).
fn strip_scheme(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"Basic ";
    let (head, rest) = value.split_at_checked(SCHEME.len())?;
    head.eq_ignore_ascii_case(SCHEME).then_some(rest)
}

/// The 401 both auth middlewares send: Traefik's text, `text/plain`, and the
/// challenge.
pub fn deny(edits: &mut Edits, challenge: &[u8]) {
    edits.response_header(HeaderOp::Set, b"WWW-Authenticate", challenge);
    edits.response_header(HeaderOp::Set, b"Content-Type", b"text/plain");
    edits.answer(401, UNAUTHORIZED);
}

#[cfg(test)]
mod tests;
