//! The challenges of the order in progress, published to the workers' table
//! (`tls::acme`) whenever one is added or the order ends.

use std::sync::Arc;

use super::AcmeError;
use crate::tls::acme::{self, ACME_TLS_ALPN, Challenges};

pub struct Pending {
    http_entry_points: Vec<String>,
    ch: Challenges,
}

impl Pending {
    pub fn new(http_entry_point: Option<&str>) -> Pending {
        Pending {
            http_entry_points: http_entry_point.into_iter().map(str::to_string).collect(),
            ch: Challenges::default(),
        }
    }

    fn publish(&self) {
        acme::publish_challenges(Challenges {
            http_entry_points: self.http_entry_points.clone(),
            http: self.ch.http.clone(),
            alpn: self.ch.alpn.clone(),
        });
    }

    pub fn add_http(&mut self, token: &str, key_auth: &str) {
        self.ch.http.insert(token.into(), key_auth.into());
        self.publish();
    }

    /// tls-alpn-01 (RFC 8737): a self-signed certificate for `name` whose
    /// critical acmeIdentifier extension holds SHA-256(key authorization).
    pub fn add_alpn(&mut self, name: &str, key_auth: &str) -> Result<(), AcmeError> {
        let err = |e: String| AcmeError::Setup(format!("tls-alpn-01 certificate: {e}"));
        let digest = ring::digest::digest(&ring::digest::SHA256, key_auth.as_bytes());
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()])
            .map_err(|e| err(e.to_string()))?;
        params.custom_extensions =
            vec![rcgen::CustomExtension::new_acme_identifier(digest.as_ref())];
        let key = rcgen::KeyPair::generate().map_err(|e| err(e.to_string()))?;
        let cert = params.self_signed(&key).map_err(|e| err(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Not `store::certified_key`: its pairing check parses the leaf with
        // webpki, which refuses the critical acmeIdentifier extension.
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let signer = provider
            .key_provider
            .load_private_key(der)
            .map_err(|e| err(e.to_string()))?;
        let ck = Arc::new(rustls::sign::CertifiedKey::new(
            vec![cert.der().clone()],
            signer,
        ));
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| err(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(One(ck)));
        cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        self.ch
            .alpn
            .insert(name.to_ascii_lowercase(), Arc::new(cfg));
        self.publish();
        Ok(())
    }

    pub fn clear(&mut self) {
        self.ch = Challenges::default();
        self.publish();
    }
}

/// Serves the one challenge certificate, whatever the ClientHello says.
#[derive(Debug)]
struct One(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for One {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}
