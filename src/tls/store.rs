//! The certificate store: certificates by exact name and by wildcard parent, the
//! default certificate, and the rustls resolver that picks one per SNI.
//!
//! Names come from each certificate's subject alternative names (DNS); the
//! subject CN is not used, as browsers stopped doing. A lookup does not allocate
//! unless the SNI has uppercase letters (rustls passes it on as sent).

use std::collections::HashMap;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Certificates by name; built on the control thread, shared read-only.
#[derive(Debug)]
pub struct CertStore {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.example.com` is stored under `example.com`: it matches one label.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    pub default: Arc<CertifiedKey>,
}

impl CertStore {
    pub fn new(default: Arc<CertifiedKey>) -> Self {
        Self {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default,
        }
    }

    /// Adds `key` under every DNS name of its leaf certificate. The first
    /// certificate for a name wins (files are read in sorted order), as in Traefik.
    pub fn add(&mut self, key: Arc<CertifiedKey>) -> Result<(), String> {
        let names = dns_names(&key.cert[0])?;
        if names.is_empty() {
            return Err("the certificate has no DNS subject alternative name".into());
        }
        for name in names {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            match name.strip_prefix("*.") {
                Some(parent) => self.wildcard.entry(parent.to_string()),
                None => self.exact.entry(name),
            }
            .or_insert_with(|| key.clone());
        }
        Ok(())
    }

    /// The certificate for `sni`: exact name first, then a one-label wildcard.
    pub fn find(&self, sni: &str) -> Option<&Arc<CertifiedKey>> {
        if sni.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.find(&sni.to_ascii_lowercase());
        }
        let sni = sni.strip_suffix('.').unwrap_or(sni);
        self.exact.get(sni).or_else(|| {
            let (_, parent) = sni.split_once('.')?;
            self.wildcard.get(parent)
        })
    }
}

/// The DNS SANs of a DER certificate.
pub fn dns_names(der: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    let cert = webpki::EndEntityCert::try_from(der)
        .map_err(|e| format!("cannot parse the certificate: {e}"))?;
    Ok(cert.valid_dns_names().map(str::to_string).collect())
}

/// Picks the certificate per SNI; `strict` (`sniStrict`) refuses a handshake
/// without SNI or without a matching certificate instead of using the default.
#[derive(Debug)]
pub struct SniResolver {
    pub store: Arc<CertStore>,
    pub strict: bool,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name();
        match sni.and_then(|s| self.store.find(s)) {
            Some(k) => Some(k.clone()),
            // Configured certificates first, then those ACME obtained.
            None => match sni.and_then(acme_cert) {
                Some(k) => Some(k),
                None if self.strict => None,
                None => Some(self.store.default.clone()),
            },
        }
    }
}

/// An ACME certificate for `sni`; lowercased only if the client sent capitals.
fn acme_cert(sni: &str) -> Option<Arc<CertifiedKey>> {
    let sni = sni.strip_suffix('.').unwrap_or(sni);
    match sni.bytes().any(|b| b.is_ascii_uppercase()) {
        true => super::acme::find_cert(&sni.to_ascii_lowercase()),
        false => super::acme::find_cert(sni),
    }
}

/// Parses a PEM certificate chain and private key into a rustls key, checking
/// that they belong together.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, String> {
    use rustls::pki_types::pem::PemObject;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate found in the PEM".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("bad key PEM: {e}"))?;
    let provider = rustls::crypto::ring::default_provider();
    let ck = CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| format!("certificate and key do not form a pair: {e}"))?;
    Ok(Arc::new(ck))
}

/// The self-signed certificate served when no default is configured (Traefik's
/// `TRAEFIK DEFAULT CERT`). Generated once per process: regenerating it on every
/// reload would change what clients pinned in tests see for no reason.
pub fn generated_default() -> Result<Arc<CertifiedKey>, String> {
    static CELL: std::sync::OnceLock<Result<Arc<CertifiedKey>, String>> =
        std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "PROXYD DEFAULT CERT");
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        certified_key(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
    })
    .clone()
}
