//! Runtime config types of ACME certificate resolvers (`certificatesResolvers`).

use std::path::PathBuf;
use std::time::Duration;

/// Traefik's default CA: Let's Encrypt production.
pub const DEFAULT_ACME_CA_SERVER: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Traefik's default storage file (relative to the working directory).
pub const DEFAULT_ACME_STORAGE: &str = "acme.json";
/// Traefik's default `certificatesDuration`, in hours (90 days).
pub const DEFAULT_ACME_CERTIFICATES_DURATION: u64 = 3 * 30 * 24;
/// Traefik's default `clientTimeout`.
pub const DEFAULT_ACME_CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Traefik's default `clientResponseHeaderTimeout`.
pub const DEFAULT_ACME_CLIENT_RESPONSE_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Traefik's default `certificateTimeout`.
pub const DEFAULT_ACME_CERTIFICATE_TIMEOUT: Duration = Duration::from_secs(30);
/// proxyd's default `keyType`. Traefik's is RSA4096, but proxyd's crypto
/// (ring) cannot generate RSA keys; EC256 is what Let's Encrypt recommends.
pub const DEFAULT_ACME_KEY_TYPE: KeyType = KeyType::Ec256;

/// `keyType`: the certificates' private key algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Ec256,
    Ec384,
}

/// `eab`: external account binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eab {
    pub kid: String,
    /// `hmacEncoded`, decoded (base64url, as the CA hands it out).
    pub hmac: Vec<u8>,
}

/// `certificatesResolvers.<name>.acme`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AcmeResolver {
    pub name: String,
    pub email: String,
    pub ca_server: String,
    pub storage: PathBuf,
    pub key_type: KeyType,
    /// Hours.
    pub certificates_duration: u64,
    pub eab: Option<Eab>,
    /// `httpChallenge.entryPoint` and `delay`.
    pub http_challenge: Option<(String, Duration)>,
    /// `tlsChallenge.delay`.
    pub tls_challenge: Option<Duration>,
    pub ca_certificates: Vec<PathBuf>,
    pub ca_system_cert_pool: bool,
    pub ca_server_name: Option<String>,
    pub client_timeout: Duration,
    pub client_response_header_timeout: Duration,
    pub certificate_timeout: Duration,
}

/// `tls.domains[]`: one certificate for `main` and `sans`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain {
    pub main: String,
    pub sans: Vec<String>,
}

impl Domain {
    /// `main` then `sans`, as Traefik's `ToStrArray`.
    pub fn names(&self) -> Vec<String> {
        std::iter::once(&self.main)
            .chain(&self.sans)
            .filter(|n| !n.is_empty())
            .cloned()
            .collect()
    }
}

/// Traefik's renewal schedule (`getCertificateRenewDurations`): how long
/// before expiry a certificate is renewed, and how often that is checked.
pub fn renew_durations(certificates_duration: u64) -> (Duration, Duration) {
    const H: u64 = 3600;
    let (period, interval) = match certificates_duration {
        d if d >= 365 * 24 => (4 * 30 * 24 * H, 7 * 24 * H),
        d if d >= 3 * 30 * 24 => (30 * 24 * H, 24 * H),
        d if d >= 30 * 24 => (10 * 24 * H, 12 * H),
        d if d >= 6 * 24 => (2 * 24 * H, 2 * H),
        d if d >= 24 => (6 * H, 600),
        _ => (1200, 60),
    };
    (Duration::from_secs(period), Duration::from_secs(interval))
}
