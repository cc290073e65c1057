//! Building a transport's rustls `ClientConfig` from its settings: versions and
//! cipher suites, trust anchors (`rootCAs` or the system's) with the verifier
//! of `transport_verify`, client certificates for mTLS, and ALPN.

use std::sync::Arc;

use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion};

use super::super::roots;
use super::super::transport_verify::Verifier;
use super::{ALPN_H1, ALPN_H2, KeyError, SESSION_CACHE_SIZE, Settings};
use crate::tls::acceptor;

pub(super) fn build(s: &Settings) -> Result<Arc<ClientConfig>, Vec<KeyError>> {
    let err = |key: &str, why: String| vec![(key.to_string(), why)];
    static V12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
    static V13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    static BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let versions = match (s.min, s.max) {
        (12, 12) => V12,
        (13, 13) => V13,
        (12, 13) => BOTH,
        _ => return Err(err("minVersion", "is above maxVersion".into())),
    };
    let mut provider = ring::default_provider();
    if !s.suites.is_empty() {
        let suites = acceptor::select_suites(&s.suites).map_err(|e| err("cipherSuites", e))?;
        provider.cipher_suites = acceptor::preference_order(&suites);
    }
    let provider = Arc::new(provider);
    let (roots, pinned) = match &s.roots {
        Some(pems) => {
            let (store, certs) = roots_from(pems).map_err(|e| err("rootCAs", e))?;
            (Arc::new(store), certs)
        }
        None => (roots::system().map_err(|e| err("rootCAs", e))?, Vec::new()),
    };
    let verifier = Verifier::new(roots, s.insecure, s.peer_sans.clone(), provider.clone())
        .map_err(|e| err("rootCAs", e))?
        .with_pinned(pinned);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| {
            err(
                "cipherSuites",
                format!("no usable cipher suite for these versions: {e}"),
            )
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut cfg = if s.certs.is_empty() {
        builder.with_no_client_auth()
    } else {
        let certs = client_certs(&s.certs, &provider).map_err(|e| err("certificates", e))?;
        builder.with_client_cert_resolver(Arc::new(ClientCerts(certs)))
    };
    cfg.alpn_protocols = if s.disable_http2 {
        vec![ALPN_H1.to_vec()]
    } else {
        vec![ALPN_H2.to_vec(), ALPN_H1.to_vec()]
    };
    cfg.resumption = Resumption::in_memory_sessions(SESSION_CACHE_SIZE);
    Ok(Arc::new(cfg))
}

/// The trust anchors of `rootCAs`, and the certificates themselves (a server
/// may present one of them: see `transport_verify`).
fn roots_from(pems: &[Vec<u8>]) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
    let mut store = RootCertStore::empty();
    let mut certs = Vec::new();
    for (i, pem) in pems.iter().enumerate() {
        certs.extend(roots::add_pem(&mut store, pem).map_err(|e| format!("[{i}]: {e}"))?);
    }
    Ok((store, certs))
}

fn client_certs(
    pairs: &[(Vec<u8>, Vec<u8>)],
    provider: &CryptoProvider,
) -> Result<Vec<Arc<CertifiedKey>>, String> {
    let one = |(i, (cert, key)): (usize, &(Vec<u8>, Vec<u8>))| {
        let chain: Vec<_> = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("[{i}].certFile: bad PEM: {e}"))?;
        if chain.is_empty() {
            return Err(format!("[{i}].certFile: no certificate in it"));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| format!("[{i}].keyFile: no private key: {e}"))?;
        let key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("[{i}].keyFile: {e}"))?;
        Ok(Arc::new(CertifiedKey::new(chain, key)))
    };
    pairs.iter().enumerate().map(one).collect()
}

/// `certificates`: as Go's client, the first one whose key can sign with a
/// scheme the server accepts.
#[derive(Debug)]
struct ClientCerts(Vec<Arc<CertifiedKey>>);

impl ResolvesClientCert for ClientCerts {
    fn resolve(&self, _hints: &[&[u8]], schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let usable = |c: &&Arc<CertifiedKey>| c.key.choose_scheme(schemes).is_some();
        self.0.iter().find(usable).cloned()
    }

    fn has_certs(&self) -> bool {
        true
    }
}
