//! The TLS keys of `http.serversTransports.<n>` → one rustls `ClientConfig` per
//! transport, built here on the control thread and shared by every worker:
//! `serverName`, `insecureSkipVerify`, `rootCAs`, `certificates` (client
//! certificates for mTLS), `cipherSuites`, `minVersion`, `maxVersion`,
//! `peerCertSANs` and `peerCertURI` (`transport_verify.rs`), and `disableHTTP2`
//! (ALPN offers `h2, http/1.1` as Go's transport does, or only `http/1.1` with it).
//!
//! A transport whose settings and files did not change keeps its very config
//! across reloads (a cache by fingerprint, used only here), and with it the
//! session store: connections made after a reload still resume. Without
//! `rootCAs`, certificates are checked against the system's roots, loaded once
//! per process as Go loads them (`rustls-native-certs`: `SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, then the distribution's bundle).
//!
//! Here: the settings, their compilation and the cache; `files` reads what
//! they name, `client` builds the rustls config.

mod client;
mod files;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rustc_hash::FxHashMap;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use serde::Deserialize;

use super::raw_dynamic::RawServersTransport;
use crate::net::upstream_tls::TlsTarget;
use crate::tls::acceptor;
use files::pem;
pub(in crate::config) use files::resolve;
pub use files::{Extra, read_files};

/// TLS sessions kept per transport for resumption (rustls' in-memory store,
/// by server name): enough for every server of a large service.
pub const SESSION_CACHE_SIZE: usize = 1024;
/// ALPN offered to upstreams: HTTP/2 first, as Go's transport (so Traefik)
/// does unless `disableHTTP2`; the server's choice decides the protocol.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_H1: &[u8] = b"http/1.1";

/// One entry of a transport's `certificates`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClientCert {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

/// A transport's compiled TLS settings.
#[derive(Debug)]
pub struct TransportTls {
    pub config: Arc<ClientConfig>,
    /// `serverName`: sent (SNI) and verified instead of the URL's host.
    pub server_name: Option<String>,
    /// Of the settings and the files they read: equal settings, equal value.
    pub fingerprint: u64,
}

impl PartialEq for TransportTls {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

/// A key below the transport and why it is wrong.
pub type KeyError = (String, String);

/// Whether the transport sets any TLS key (else `https://` servers get the
/// default settings).
fn has_tls_keys(t: &RawServersTransport) -> bool {
    t.server_name.is_some()
        || t.insecure_skip_verify.is_some()
        || t.root_cas.is_some()
        || t.certificates.is_some()
        || t.cipher_suites.is_some()
        || t.min_version.is_some()
        || t.max_version.is_some()
        || t.peer_cert_uri.is_some()
        || t.peer_cert_sans.is_some()
        || t.disable_http2.is_some()
}

/// The settings, with file contents, that make one config.
#[derive(Hash, Default)]
struct Settings {
    server_name: Option<String>,
    insecure: bool,
    roots: Option<Vec<Vec<u8>>>,
    certs: Vec<(Vec<u8>, Vec<u8>)>,
    suites: Vec<String>,
    min: u8,
    max: u8,
    peer_sans: Vec<super::transport_verify::San>,
    disable_http2: bool,
}

/// Compiles a transport's TLS keys; `None` when it sets none.
pub fn compile(
    file: &Path,
    t: &RawServersTransport,
    extra: &Extra,
) -> Result<Option<Arc<TransportTls>>, Vec<KeyError>> {
    if !has_tls_keys(t) {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut version = |key: &str, v: &Option<String>, is_max: bool, default: u8| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map_or(Ok(default), |v| {
                acceptor::parse_version(v, is_max).map_err(|why| errors.push((key.into(), why)))
            })
    };
    let min = version("minVersion", &t.min_version, false, 12).unwrap_or(12);
    let max = version("maxVersion", &t.max_version, true, 13).unwrap_or(13);
    let read = |errors: &mut Vec<KeyError>, key: String, v: &str| {
        pem(file, v, extra)
            .map(<[u8]>::to_vec)
            .map_err(|why| errors.push((key, why)))
            .unwrap_or_default()
    };
    let roots = t.root_cas.as_ref().map(|list| {
        let each = list.iter().enumerate();
        each.map(|(i, v)| read(&mut errors, format!("rootCAs[{i}]"), v))
            .collect()
    });
    let mut certs = Vec::new();
    for (i, c) in t.certificates.iter().flatten().enumerate() {
        let key = format!("certificates[{i}]");
        match (&c.cert_file, &c.key_file) {
            (Some(cf), Some(kf)) => certs.push((
                read(&mut errors, format!("{key}.certFile"), cf),
                read(&mut errors, format!("{key}.keyFile"), kf),
            )),
            _ => errors.push((key, "needs both certFile and keyFile".into())),
        }
    }
    // As Traefik: the deprecated peerCertURI is one more URI entry.
    let mut peer_sans = super::transport_verify::sans(t.peer_cert_sans.as_deref().unwrap_or(&[]))
        .unwrap_or_else(|e| {
            errors.extend(e);
            Vec::new()
        });
    let uri = t.peer_cert_uri.clone().filter(|s| !s.is_empty());
    peer_sans.extend(uri.map(super::transport_verify::San::Uri));
    let settings = Settings {
        server_name: t.server_name.clone().filter(|s| !s.is_empty()),
        insecure: t.insecure_skip_verify.unwrap_or(false),
        roots,
        certs,
        suites: t.cipher_suites.clone().unwrap_or_default(),
        min,
        max,
        peer_sans,
        disable_http2: t.disable_http2.unwrap_or(false),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    cached(settings).map(Some)
}

/// `https://` servers of a transport without TLS keys: Go's defaults.
pub fn default_tls() -> Result<Arc<TransportTls>, String> {
    static CELL: OnceLock<Result<Arc<TransportTls>, String>> = OnceLock::new();
    let settings = Settings {
        min: 12,
        max: 13,
        ..Settings::default()
    };
    CELL.get_or_init(|| cached(settings).map_err(|e| e[0].1.clone()))
        .clone()
}

/// The config for `s`: the one built before for the same settings if it is
/// still in use (its session store with it), else a new one.
fn cached(s: Settings) -> Result<Arc<TransportTls>, Vec<KeyError>> {
    static CACHE: OnceLock<Mutex<FxHashMap<u64, Weak<TransportTls>>>> = OnceLock::new();
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    let fingerprint = h.finish();
    // Compile time only (the control thread): never taken on the data path.
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(tls) = cache.get(&fingerprint).and_then(Weak::upgrade) {
        return Ok(tls);
    }
    let tls = Arc::new(TransportTls {
        config: client::build(&s)?,
        server_name: s.server_name,
        fingerprint,
    });
    cache.retain(|_, w| w.strong_count() > 0);
    cache.insert(fingerprint, Arc::downgrade(&tls));
    Ok(tls)
}

/// The same target offering only `alpn` in ALPN ([`ALPN_H1`] or
/// [`ALPN_H2`]), for clients that speak nothing else (HTTP and gRPC health
/// probes); built when the prober reconciles, never per
/// request. The session store is shared with the original config.
pub fn only(t: &Arc<TlsTarget>, alpn: &[u8]) -> Arc<TlsTarget> {
    if t.config.alpn_protocols == [alpn] {
        return t.clone();
    }
    let mut config = (*t.config).clone();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(TlsTarget {
        config: Arc::new(config),
        name: t.name.clone(),
        id: t.id,
    })
}

/// How to reach one `https://` server: the name sent and verified is
/// `serverName` if set, else the URL's host (an IP address is verified against
/// the certificate's IP SANs, and sent as no SNI).
pub fn target(tls: &Arc<TransportTls>, host: &str) -> Result<Arc<TlsTarget>, String> {
    let name = tls.server_name.as_deref().unwrap_or(host);
    let server_name = ServerName::try_from(name.to_string())
        .map_err(|_| format!("{name:?} is not a valid TLS server name"))?;
    let mut h = DefaultHasher::new();
    (tls.fingerprint, name).hash(&mut h);
    Ok(Arc::new(TlsTarget {
        config: tls.config.clone(),
        name: server_name,
        // Never 0, the plaintext key.
        id: h.finish() | 1,
    }))
}
