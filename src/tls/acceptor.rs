//! `tls.options.<name>` → one rustls `ServerConfig`, built on the control thread
//! and cached in the snapshot. Traefik's names (Go's crypto/tls) are mapped onto
//! rustls: versions, cipher suites, ALPN, `sniStrict` and `clientAuth`.
//!
//! Session tickets: every config shares one process-wide ticketer, so a ticket
//! issued by worker 0 resumes on worker 1 and across reloads (docs/architecture.md).
//! The stateful session-id cache is off: it is a mutex-guarded map that workers
//! would contend on; TLS 1.2 clients resume with tickets instead, as with
//! Traefik (Go's crypto/tls has no server-side session cache either).
//! `disableSessionTickets` turns tickets off, so, as in Go, no resumption at all.

use std::sync::{Arc, OnceLock};

use rustls::crypto::{CryptoProvider, ring};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, ProducesTickets, WebPkiClientVerifier};
use rustls::{DistinguishedName, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::store::{CertStore, SniResolver};

/// Traefik's `clientAuthType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthType {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuthType {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            "RequireAnyClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            _ => {
                return Err(format!(
                    "{s:?}: expected NoClientCert, RequestClientCert, RequireAnyClientCert, \
                     VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ));
            }
        })
    }

    fn verifies(self) -> bool {
        matches!(
            self,
            Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert
        )
    }
}

/// Validated `tls.options.<name>`, certificates already read.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// 12 or 13.
    pub min_version: u8,
    pub max_version: u8,
    /// Go names; empty means rustls' defaults.
    pub cipher_suites: Vec<String>,
    pub alpn: Vec<Vec<u8>>,
    pub sni_strict: bool,
    pub client_auth: ClientAuthType,
    /// PEM bytes of every `caFiles` entry.
    pub client_cas: Vec<Vec<u8>>,
    /// Issue (and accept) session tickets: not `disableSessionTickets`.
    pub session_tickets: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            min_version: 12,
            max_version: 13,
            cipher_suites: Vec::new(),
            // Not Traefik's ["h2", "http/1.1", "acme-tls/1"]: proxyd speaks HTTP/1.1
            // only, and advertising h2 would make browsers pick it.
            // Traefik's default list less `acme-tls/1` (no ACME challenges here).
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            sni_strict: false,
            client_auth: ClientAuthType::NoClientCert,
            client_cas: Vec::new(),
            session_tickets: true,
        }
    }
}

/// `"VersionTLS12"` → 12. rustls has no TLS 1.0/1.1: as a minimum they mean 1.2.
pub fn parse_version(s: &str, is_max: bool) -> Result<u8, String> {
    match s {
        "VersionTLS10" | "VersionTLS11" if !is_max => Ok(12),
        "VersionTLS12" => Ok(12),
        "VersionTLS13" => Ok(13),
        "VersionTLS10" | "VersionTLS11" => Err(format!(
            "{s:?}: TLS 1.0 and 1.1 are not supported (the lowest is VersionTLS12)"
        )),
        _ => Err(format!(
            "{s:?}: expected VersionTLS10, VersionTLS11, VersionTLS12 or VersionTLS13"
        )),
    }
}

/// Go's name for a rustls suite (`TLS13_AES_128_GCM_SHA256` → `TLS_AES_128_GCM_SHA256`).
fn go_name(s: &rustls::SupportedCipherSuite) -> String {
    let name = format!("{:?}", s.suite());
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// `suites` ordered as Go orders them on hardware with AES instructions: TLS 1.3
/// before 1.2, then AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 (a stable sort, so
/// ECDSA before RSA stays as rustls lists it).
pub fn preference_order(
    suites: &[rustls::SupportedCipherSuite],
) -> Vec<rustls::SupportedCipherSuite> {
    let rank = |s: &rustls::SupportedCipherSuite| {
        let name = go_name(s);
        let bulk = if name.contains("AES_128") {
            0
        } else if name.contains("AES_256") {
            1
        } else {
            2
        };
        (s.tls13().is_none(), bulk)
    };
    let mut out = suites.to_vec();
    out.sort_by_key(rank);
    out
}

/// Checks the names and keeps the matching suites. Like Go, a list naming no
/// TLS 1.3 suite leaves TLS 1.3's suites alone.
pub fn select_suites(names: &[String]) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    let all = ring::ALL_CIPHER_SUITES;
    let canon = |n: &str| {
        // Go accepts the CHACHA20 names with and without `_SHA256`.
        if n.ends_with("CHACHA20_POLY1305") {
            format!("{n}_SHA256")
        } else {
            n.to_string()
        }
    };
    let wanted: Vec<String> = names.iter().map(|n| canon(n)).collect();
    for (n, w) in names.iter().zip(&wanted) {
        if !all.iter().any(|s| go_name(s) == *w) {
            return Err(format!(
                "cipher suite {n:?} is not supported (rustls offers {})",
                all.iter().map(go_name).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let names_tls13 = all
        .iter()
        .any(|s| s.tls13().is_some() && wanted.contains(&go_name(s)));
    Ok(all
        .iter()
        .filter(|s| wanted.contains(&go_name(s)) || (s.tls13().is_some() && !names_tls13))
        .copied()
        .collect())
}

/// The process-wide ticketer (rotating keys), shared by every config.
pub fn ticketer() -> Result<Arc<dyn ProducesTickets>, String> {
    static CELL: OnceLock<Result<Arc<dyn ProducesTickets>, String>> = OnceLock::new();
    CELL.get_or_init(|| ring::Ticketer::new().map_err(|e| e.to_string()))
        .clone()
}

/// Builds the rustls config for one set of options.
pub fn build(opts: &TlsOptions, store: Arc<CertStore>) -> Result<Arc<ServerConfig>, String> {
    static V12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
    static V13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    static BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let versions = match (opts.min_version, opts.max_version) {
        (12, 12) => V12,
        (13, 13) => V13,
        (12, 13) => BOTH,
        _ => return Err("minVersion is above maxVersion".into()),
    };
    let mut provider = ring::default_provider();
    let suites = if opts.cipher_suites.is_empty() {
        ring::DEFAULT_CIPHER_SUITES.to_vec()
    } else {
        select_suites(&opts.cipher_suites)?
    };
    // As in Go, a configured list chooses suites, not their order.
    provider.cipher_suites = preference_order(&suites);
    let provider = Arc::new(provider);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("no usable cipher suite for these versions: {e}"))?;
    let builder = match opts.client_auth {
        ClientAuthType::NoClientCert => builder.with_no_client_auth(),
        kind => builder.with_client_cert_verifier(client_verifier(opts, kind, provider)?),
    };
    let mut cfg = builder.with_cert_resolver(Arc::new(SniResolver {
        store,
        strict: opts.sni_strict,
    }));
    cfg.alpn_protocols = opts.alpn.clone();
    // The server's order, as Go's crypto/tls (so Traefik) chooses: AES-128-GCM
    // first. With the client's order an OpenSSL client gets AES-256-GCM-SHA384,
    // whose SHA-384 key schedule runs on ring's non-accelerated SHA-512 code:
    // 14% of a full handshake's CPU in the profile (docs/benchmarks.md).
    cfg.ignore_client_order = true;
    cfg.session_storage = Arc::new(NoServerSessionStorage {});
    if opts.session_tickets {
        cfg.ticketer = ticketer()?;
    } else {
        cfg.ticketer = Arc::new(NoTickets);
        cfg.send_tls13_tickets = 0;
    }
    Ok(Arc::new(cfg))
}

fn client_verifier(
    opts: &TlsOptions,
    kind: ClientAuthType,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    if !kind.verifies() {
        return Ok(Arc::new(AnyClientCert {
            mandatory: kind == ClientAuthType::RequireAnyClientCert,
            provider,
        }));
    }
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = RootCertStore::empty();
    for pem in &opts.client_cas {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("clientAuth.caFiles: bad PEM: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("clientAuth.caFiles: bad CA certificate: {e}"))?;
        }
    }
    if roots.is_empty() {
        return Err(format!("clientAuthType {kind:?} needs clientAuth.caFiles"));
    }
    let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let b = if kind == ClientAuthType::VerifyClientCertIfGiven {
        b.allow_unauthenticated()
    } else {
        b
    };
    b.build().map_err(|e| format!("clientAuth: {e}"))
}

/// `disableSessionTickets`: no tickets issued, none accepted (rustls' own
/// never-ticketer is not public).
#[derive(Debug)]
struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// `RequestClientCert` / `RequireAnyClientCert`: a client certificate is asked
/// for (and, for the latter, required) but not checked against any CA; only the
/// handshake signature proving possession of its key is verified.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_order_is_tls13_then_aes128_aes256_chacha() {
        let names: Vec<String> = preference_order(ring::DEFAULT_CIPHER_SUITES)
            .iter()
            .map(go_name)
            .collect();
        assert_eq!(
            names[..3],
            [
                "TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256"
            ]
        );
        assert!(names[3].contains("ECDSA_WITH_AES_128_GCM"), "{names:?}");
        assert!(names.last().unwrap().contains("CHACHA20"), "{names:?}");
    }
}
