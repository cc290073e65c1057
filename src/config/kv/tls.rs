//! `providers.redis.tls` and `providers.etcd.tls`: Traefik's `types.ClientTLS`
//! (`ca`, `cert`, `key`, `insecureSkipVerify`) → one rustls `ClientConfig` for
//! the store's blocking client on the control side. As in Traefik, `ca`, `cert`
//! and `key` are each a file path or the PEM itself, and without `ca` the
//! system's roots are trusted. Built at load time, so a bad file is a config
//! error naming its key rather than a store that never answers.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;

use crate::config::error::Collector;
use crate::config::roots::{self, PemRootsError};
use crate::config::transport_verify::Verifier;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClientTls {
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub insecure_skip_verify: Option<bool>,
}

/// A store's TLS client settings, built.
#[derive(Clone)]
pub struct KvTls {
    pub config: Arc<ClientConfig>,
    /// Of the settings and the PEM they read: equal inputs, equal value.
    fingerprint: u64,
}

impl PartialEq for KvTls {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl std::fmt::Debug for KvTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KvTls({:016x})", self.fingerprint)
    }
}

/// Checks `raw` (errors under `<section>.tls.<key>`).
pub fn client_tls(raw: RawClientTls, section: &str, c: &mut Collector) -> Option<KvTls> {
    let key = |k: &str| format!("{section}.tls.{k}");
    let ca = raw.ca.filter(|s| !s.is_empty());
    let ca = match ca {
        Some(v) => Some(c.check(&key("ca"), pem_or_file(&v))?),
        None => None,
    };
    let pair = match (
        raw.cert.filter(|s| !s.is_empty()),
        raw.key.filter(|s| !s.is_empty()),
    ) {
        (Some(cert), Some(k)) => Some((
            c.check(&key("cert"), pem_or_file(&cert))?,
            c.check(&key("key"), pem_or_file(&k))?,
        )),
        (None, None) => None,
        (Some(_), None) => {
            c.push(key("key"), "both TLS cert and key must be defined");
            return None;
        }
        (None, Some(_)) => {
            c.push(key("cert"), "both TLS cert and key must be defined");
            return None;
        }
    };
    let insecure = raw.insecure_skip_verify.unwrap_or(false);
    let mut h = DefaultHasher::new();
    (&ca, &pair, insecure).hash(&mut h);
    let fingerprint = h.finish();
    let anchors = match &ca {
        Some(pem) => c.check(&key("ca"), roots_from(pem))?,
        None => c.check(&key("ca"), roots::system())?,
    };
    let provider = Arc::new(ring::default_provider());
    let verifier = Verifier::new(anchors, insecure, Vec::new(), provider.clone());
    let verifier = c.check(&key("ca"), verifier)?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| c.push(key("ca"), e.to_string()))
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let config = match pair {
        None => builder.with_no_client_auth(),
        Some((cert, k)) => {
            let chain = c.check(&key("cert"), chain(&cert))?;
            let k = PrivateKeyDer::from_pem_slice(&k).map_err(|e| format!("bad private key: {e}"));
            let k = c.check(&key("key"), k)?;
            let cfg = builder.with_client_auth_cert(chain, k);
            c.check(
                &key("key"),
                cfg.map_err(|e| format!("does not fit cert: {e}")),
            )?
        }
    };
    Some(KvTls {
        config: Arc::new(config),
        fingerprint,
    })
}

/// Traefik's rule: a path that exists is read, anything else is the PEM itself.
fn pem_or_file(v: &str) -> Result<Vec<u8>, String> {
    match std::fs::read(v) {
        Ok(bytes) => Ok(bytes),
        Err(_) if v.trim_start().starts_with("-----BEGIN") => Ok(v.as_bytes().to_vec()),
        Err(e) => Err(format!("cannot read {v:?}: {e}")),
    }
}

/// Traefik's texts: what the first bad certificate says, or that there was none.
fn roots_from(pem: &[u8]) -> Result<Arc<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    match roots::add_pem(&mut store, pem) {
        Ok(_) => Ok(Arc::new(store)),
        Err(PemRootsError::Empty) => Err("failed to parse CA: no certificate in it".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn chain(cert: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<_> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(chain)
}
