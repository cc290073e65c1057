//! How an upstream's certificate is checked, as Go's crypto/tls checks it for
//! Traefik: the chain against `rootCAs` (or the system roots) and the server
//! name; nothing with `insecureSkipVerify`; and with `peerCertURI`, besides, a
//! chain check without the name and a URI SAN equal to it (Traefik's
//! `VerifyPeerCertificate`, which runs even with `insecureSkipVerify`). The
//! handshake signature is always verified: skipping verification trusts the
//! certificate, not a peer that cannot prove it holds its key.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

#[derive(Debug)]
pub struct Verifier {
    /// The usual check (chain and name); `None` with `insecureSkipVerify`.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    roots: Arc<RootCertStore>,
    /// `peerCertURI`.
    peer_uri: Option<String>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    pub fn new(
        roots: Arc<RootCertStore>,
        insecure: bool,
        peer_uri: Option<String>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Verifier, String> {
        let webpki = if insecure {
            None
        } else {
            let b = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone());
            Some(
                b.build()
                    .map_err(|e| format!("no usable CA certificate: {e}"))?,
            )
        };
        Ok(Verifier {
            webpki,
            roots,
            peer_uri,
            provider,
        })
    }

    /// The chain up to a root, whatever name it is for.
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|e| {
            Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(e))))
        })?;
        cert.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.roots.roots,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| {
            let reason = match e {
                webpki::Error::UnknownIssuer => CertificateError::UnknownIssuer,
                webpki::Error::CertExpired { .. } => CertificateError::Expired,
                other => CertificateError::Other(rustls::OtherError(Arc::new(other))),
            };
            Error::InvalidCertificate(reason)
        })
    }
}

/// Whether the certificate has a URI SAN equal to `uri` (ASCII case aside, as
/// Traefik compares).
fn has_uri(end_entity: &CertificateDer<'_>, uri: &str) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity) else {
        return false;
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    san.value.general_names.iter().any(|n| {
        matches!(n, x509_parser::extensions::GeneralName::URI(u) if u.eq_ignore_ascii_case(uri))
    })
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if let Some(v) = &self.webpki {
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        }
        if let Some(uri) = &self.peer_uri {
            if self.webpki.is_none() {
                self.verify_chain(end_entity, intermediates, now)?;
            }
            if !has_uri(end_entity, uri) {
                return Err(Error::General(format!(
                    "no URI SAN {uri:?} in the peer certificate (peerCertURI)"
                )));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
