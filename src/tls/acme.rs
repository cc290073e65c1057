//! What the ACME thread shares with workers: the certificates it obtained and
//! the challenges it has pending. One process-wide table of each, replaced
//! whole by the ACME thread (`control::acme`) and read by workers with one
//! lock-free `ArcSwap` load, so no worker ever waits on ACME work.
//!
//! - Certificates: looked up by the SNI resolver after the configured ones
//!   (`store::SniResolver`), so an obtained certificate is served by every
//!   worker from its next handshake on, without a reload.
//! - http-01: `/.well-known/acme-challenge/<token>` on the `httpChallenge`
//!   entry point is answered from [`http_answer`] before routing.
//! - tls-alpn-01: a ClientHello offering `acme-tls/1` for a name with a pending
//!   challenge gets [`alpn_config`]'s config (the challenge certificate only).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::sign::CertifiedKey;

use super::store;

/// The ALPN protocol of tls-alpn-01 (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// The path prefix of http-01 (RFC 8555 §8.3).
pub const HTTP_CHALLENGE_PREFIX: &[u8] = b"/.well-known/acme-challenge/";

/// Obtained certificates by name (exact, and one-label wildcards by parent).
#[derive(Default)]
pub struct Certs {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl Certs {
    /// Adds `key` under every DNS name of its leaf; the first one for a name wins.
    pub fn add(&mut self, key: Arc<CertifiedKey>) -> Result<(), String> {
        for name in store::dns_names(&key.cert[0])? {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            match name.strip_prefix("*.") {
                Some(parent) => self.wildcard.entry(parent.to_string()),
                None => self.exact.entry(name),
            }
            .or_insert_with(|| key.clone());
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.wildcard.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(&self, sni: &str) -> Option<&Arc<CertifiedKey>> {
        self.exact.get(sni).or_else(|| {
            let (_, parent) = sni.split_once('.')?;
            self.wildcard.get(parent)
        })
    }
}

/// Pending challenges.
#[derive(Default)]
pub struct Challenges {
    /// Entry points that answer http-01 (`httpChallenge.entryPoint`).
    pub http_entry_points: Vec<String>,
    /// http-01: token → key authorization.
    pub http: HashMap<String, String>,
    /// tls-alpn-01: lowercase name → a config serving only its challenge certificate.
    pub alpn: HashMap<String, Arc<ServerConfig>>,
}

static CERTS: LazyLock<ArcSwap<Certs>> = LazyLock::new(ArcSwap::default);
static CHALLENGES: LazyLock<ArcSwap<Challenges>> = LazyLock::new(ArcSwap::default);

/// Replaces the obtained certificates (ACME thread only).
pub fn publish_certs(certs: Certs) {
    CERTS.store(Arc::new(certs));
}

/// Replaces the pending challenges (ACME thread only).
pub fn publish_challenges(ch: Challenges) {
    CHALLENGES.store(Arc::new(ch));
}

/// The obtained certificate for `sni` (lowercase, no trailing dot), if any.
pub fn find_cert(sni: &str) -> Option<Arc<CertifiedKey>> {
    CERTS.load().find(sni).cloned()
}

/// The key authorization for an http-01 request on entry point `ep`, if
/// `path` is a pending challenge's.
pub fn http_answer(ep: &str, path: &[u8]) -> Option<String> {
    let token = path.strip_prefix(HTTP_CHALLENGE_PREFIX)?;
    let ch = CHALLENGES.load();
    if !ch.http_entry_points.iter().any(|e| e == ep) {
        return None;
    }
    let token = std::str::from_utf8(token).ok()?;
    ch.http.get(token).cloned()
}

/// The tls-alpn-01 config for a ClientHello that offers `acme-tls/1` for a
/// name with a pending challenge.
pub fn alpn_config(sni: Option<&str>, alpn: &[Vec<u8>]) -> Option<Arc<ServerConfig>> {
    if !alpn.iter().any(|p| p == ACME_TLS_ALPN) {
        return None;
    }
    CHALLENGES.load().alpn.get(sni?).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answer_needs_prefix_entry_point_and_token() {
        let mut ch = Challenges {
            http_entry_points: vec!["web".into()],
            ..Default::default()
        };
        ch.http.insert("tok".into(), "tok.thumb".into());
        publish_challenges(ch);
        let p = b"/.well-known/acme-challenge/tok";
        assert_eq!(http_answer("web", p).as_deref(), Some("tok.thumb"));
        assert_eq!(http_answer("websecure", p), None);
        assert_eq!(http_answer("web", b"/.well-known/acme-challenge/x"), None);
        assert_eq!(http_answer("web", b"/tok"), None);
        publish_challenges(Challenges::default());
    }
}
