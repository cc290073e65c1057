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

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rustc_hash::FxHashMap;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion};
use serde::Deserialize;

use super::provider::ProviderFiles;
use super::raw_dynamic::RawServersTransport;
use super::transport_verify::Verifier;
use crate::net::upstream_tls::TlsTarget;
use crate::tls::acceptor;

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

fn is_inline(s: &str) -> bool {
    s.trim_start().starts_with("-----BEGIN")
}

pub(super) fn resolve(file: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    match file.parent() {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

/// The file-or-PEM values a transport names.
fn named(t: &RawServersTransport) -> impl Iterator<Item = &String> {
    let certs = t.certificates.iter().flatten();
    let pairs = certs.flat_map(|c| [&c.cert_file, &c.key_file].into_iter().flatten());
    t.root_cas.iter().flatten().chain(pairs)
}

/// Adds the files every transport names to `files.extra` (so replacing a CA
/// or a client certificate changes the fingerprint and reloads).
pub fn read_files(files: &mut ProviderFiles) {
    let paths: Vec<PathBuf> = files
        .files
        .iter()
        .filter_map(|f| Some((f, f.parsed.as_ref().ok()?.http.as_ref()?)))
        .flat_map(|(f, http)| {
            let values = http.servers_transports.values().flat_map(named);
            let values = values.filter(|v| !is_inline(v));
            values.map(|v| resolve(&f.path, v)).collect::<Vec<_>>()
        })
        .collect();
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        files.extra.push((p, bytes));
    }
    files.extra.sort_by(|a, b| a.0.cmp(&b.0));
    files.extra.dedup_by(|a, b| a.0 == b.0);
}

pub type Extra = [(PathBuf, Result<Vec<u8>, String>)];

/// PEM bytes of a file-or-content value.
fn pem<'a>(file: &Path, value: &'a str, extra: &'a Extra) -> Result<&'a [u8], String> {
    if is_inline(value) {
        return Ok(value.as_bytes());
    }
    let path = resolve(file, value);
    match extra.binary_search_by(|(p, _)| p.as_path().cmp(&path)) {
        Ok(i) => extra[i].1.as_deref().map_err(Clone::clone),
        Err(_) => Err(format!("{} was not read", path.display())),
    }
}

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
        config: build(&s)?,
        server_name: s.server_name,
        fingerprint,
    });
    cache.retain(|_, w| w.strong_count() > 0);
    cache.insert(fingerprint, Arc::downgrade(&tls));
    Ok(tls)
}

fn build(s: &Settings) -> Result<Arc<ClientConfig>, Vec<KeyError>> {
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
        None => (system_roots().map_err(|e| err("rootCAs", e))?, Vec::new()),
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
    let mut roots = RootCertStore::empty();
    let mut certs = Vec::new();
    for (i, pem) in pems.iter().enumerate() {
        let mut found = false;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("[{i}]: bad PEM: {e}"))?;
            roots
                .add(cert.clone())
                .map_err(|e| format!("[{i}]: bad CA certificate: {e}"))?;
            certs.push(cert);
            found = true;
        }
        if !found {
            return Err(format!("[{i}]: no certificate in it"));
        }
    }
    Ok((roots, certs))
}

/// The system's roots, loaded once per process.
pub(super) fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static CELL: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    let load = || {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            log::warn!("system CA certificates: {e}");
        }
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err("no system CA certificates found (install ca-certificates, set SSL_CERT_FILE, or give rootCAs)".into());
        }
        Ok(Arc::new(roots))
    };
    CELL.get_or_init(load).clone()
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
