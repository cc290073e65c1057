//! How an upstream's certificate is checked, as Go's crypto/tls checks it for
//! Traefik: the chain against `rootCAs` (or the system roots) and the server
//! name; nothing with `insecureSkipVerify`; and with `peerCertSANs` (and the
//! older `peerCertURI`, one more URI entry), besides, a chain check without
//! the name and one entry of the list matching the certificate: a `URI` equal
//! to one of its URI SANs, or a `DNSName` (a DNS name or an IP address) it is
//! valid for (Traefik's `VerifyPeerCertificate`, which runs even with
//! `insecureSkipVerify`). The
//! handshake signature is always verified: skipping verification trusts the
//! certificate, not a peer that cannot prove it holds its key.
//!
//! A server certificate that is itself one of the `rootCAs` is trusted as Go
//! trusts it (a chain of one), even when it is marked as a CA: that is what
//! `openssl req -x509` makes by default, the usual self-signed backend
//! certificate, which webpki alone refuses (`CaUsedAsEndEntity`).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use serde::Deserialize;

/// One entry of `peerCertSANs` as written (Traefik's `tls.SAN`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSan {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
}

/// A SAN the upstream's certificate may match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum San {
    /// `URI`: one of the certificate's URI SANs, ignoring ASCII case.
    Uri(String),
    /// `DNSName`: a name (wildcards in the certificate apply) or an IP
    /// address the certificate is valid for.
    Dns(String),
}

/// Compiles `peerCertSANs`; errors name the entry's key below the transport.
pub fn sans(raw: &[RawSan]) -> Result<Vec<San>, Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let key = |k: &str| format!("peerCertSANs[{i}].{k}");
        let Some(value) = s.value.clone().filter(|v| !v.is_empty()) else {
            errors.push((key("value"), "is required".into()));
            continue;
        };
        match s.kind.as_deref() {
            Some("URI") => out.push(San::Uri(value)),
            Some("DNSName") if ServerName::try_from(value.as_str()).is_ok() => {
                out.push(San::Dns(value));
            }
            Some("DNSName") => errors.push((
                key("value"),
                format!("{value:?} is not a DNS name or an IP address"),
            )),
            other => errors.push((
                key("type"),
                format!("{other:?}: expected \"DNSName\" or \"URI\""),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[derive(Debug)]
pub struct Verifier {
    /// The usual check (chain and name); `None` with `insecureSkipVerify`.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    roots: Arc<RootCertStore>,
    /// `peerCertSANs`, then `peerCertURI`: one must match.
    sans: Vec<San>,
    provider: Arc<CryptoProvider>,
    /// The `rootCAs` certificates themselves, for a server that presents one.
    pinned: Vec<CertificateDer<'static>>,
}

impl Verifier {
    pub fn new(
        roots: Arc<RootCertStore>,
        insecure: bool,
        sans: Vec<San>,
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
            sans,
            provider,
            pinned: Vec::new(),
        })
    }

    /// Trusts a server certificate equal to one of `certs` (the `rootCAs`).
    pub fn with_pinned(mut self, certs: Vec<CertificateDer<'static>>) -> Verifier {
        self.pinned = certs;
        self
    }

    /// Go's chain of one: the presented certificate is byte for byte a
    /// configured root, within its validity period, and (when `name` is
    /// given) valid for the server name. Its signature needs no check: it is
    /// the very certificate the operator trusts.
    fn is_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        name: Option<&ServerName<'_>>,
        now: UnixTime,
    ) -> bool {
        if !self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return false;
        }
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity) else {
            return false;
        };
        let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let in_time = x509_parser::time::ASN1Time::from_timestamp(secs)
            .is_ok_and(|t| cert.validity().is_valid_at(t));
        in_time
            && name.is_none_or(|n| {
                end_entity_cert(end_entity)
                    .is_ok_and(|c| c.verify_is_valid_for_subject_name(n).is_ok())
            })
    }

    /// The chain up to a root, whatever name it is for.
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), Error> {
        let cert = end_entity_cert(end_entity)?;
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

fn end_entity_cert<'a>(der: &'a CertificateDer<'a>) -> Result<webpki::EndEntityCert<'a>, Error> {
    webpki::EndEntityCert::try_from(der).map_err(|e| {
        Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(e))))
    })
}

/// Whether one of `sans` matches the certificate.
fn matches(end_entity: &CertificateDer<'_>, sans: &[San]) -> bool {
    sans.iter().any(|san| match san {
        San::Uri(uri) => has_uri(end_entity, uri),
        San::Dns(name) => {
            let (Ok(cert), Ok(name)) = (
                end_entity_cert(end_entity),
                ServerName::try_from(name.as_str()),
            ) else {
                return false;
            };
            cert.verify_is_valid_for_subject_name(&name).is_ok()
        }
    })
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
            let checked = v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
            if checked.is_err() && !self.is_pinned(end_entity, Some(server_name), now) {
                checked?;
            }
        }
        if !self.sans.is_empty() {
            if self.webpki.is_none() && !self.is_pinned(end_entity, None, now) {
                self.verify_chain(end_entity, intermediates, now)?;
            }
            if !matches(end_entity, &self.sans) {
                return Err(Error::General(
                    "no matching SAN in the peer certificate (peerCertSANs)".into(),
                ));
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

#[cfg(test)]
mod tests;
