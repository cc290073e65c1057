//! The dynamic `tls` section → [`TlsConfig`]: certificates into the store (read,
//! parsed and checked here, on the control thread), the default certificate
//! (configured or generated), one rustls config per `tls.options`, and per entry
//! point the options each SNI gets.
//!
//! `certFile`/`keyFile`/`caFiles` are paths relative to the dynamic file that
//! names them, or inline PEM (Traefik accepts both). Files are read together
//! with the dynamic files ([`read_referenced`]) so that replacing a certificate
//! changes the fingerprint and triggers a reload.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::compile::{Def, Resolved};
use super::error::ConfigError;
use super::provider::ProviderFiles;
use super::raw_dynamic::RawRouter;
use super::raw_tls::*;
use super::types::{RouterTls, StaticConfig};
use crate::router::Rule;
use crate::tls::acceptor::{self, ClientAuthType, TlsOptions};
use crate::tls::store::{self, CertStore};
use crate::tls::{DEFAULT_OPTIONS, EntryTls, TlsConfig};

fn is_inline(s: &str) -> bool {
    s.trim_start().starts_with("-----BEGIN")
}

fn resolve(file: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    match file.parent() {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

/// Every file path the `tls` sections name.
fn referenced(file: &Path, tls: &RawTls) -> Vec<PathBuf> {
    let certs = tls
        .certificates
        .iter()
        .flat_map(|c| [&c.cert_file, &c.key_file]);
    let stores = tls
        .stores
        .values()
        .filter_map(|s| s.default_certificate.as_ref())
        .flat_map(|c| [&c.cert_file, &c.key_file]);
    let cas = tls
        .options
        .values()
        .filter_map(|o| o.client_auth.as_ref())
        .flat_map(|a| a.ca_files.iter().map(Some));
    certs
        .chain(stores)
        .map(Option::as_ref)
        .chain(cas)
        .flatten()
        .filter(|s| !is_inline(s))
        .map(|s| resolve(file, s))
        .collect()
}

/// Reads the files the dynamic files point at into `files.extra`.
pub fn read_referenced(files: &mut ProviderFiles) {
    let mut paths: Vec<PathBuf> = files
        .files
        .iter()
        .filter_map(|f| Some((f, f.parsed.as_ref().ok()?.tls.as_ref()?)))
        .flat_map(|(f, tls)| referenced(&f.path, tls))
        .collect();
    // Sorted and unique: `pem` finds a path by binary search.
    paths.sort();
    paths.dedup();
    files.extra = paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
}

/// PEM bytes for a `certFile`-like value.
fn pem<'a>(files: &'a ProviderFiles, file: &Path, value: &'a str) -> Result<&'a [u8], String> {
    if is_inline(value) {
        return Ok(value.as_bytes());
    }
    let path = resolve(file, value);
    // `extra` is sorted by path (`read_referenced`): a search, not a scan per
    // certificate.
    match files.extra.binary_search_by(|(p, _)| p.cmp(&path)) {
        Ok(i) => files.extra[i].1.as_deref().map_err(Clone::clone),
        Err(_) => Err(format!("{} was not read", path.display())),
    }
}

/// `http.routers.<n>.tls`.
pub fn router_tls(
    def: &Def<RawRouter>,
    key: &str,
    t: &RawRouterTls,
    st: &StaticConfig,
    errors: &mut Vec<ConfigError>,
) -> RouterTls {
    let cert_resolver = t.cert_resolver.clone().filter(|r| !r.is_empty());
    if let Some(r) = &cert_resolver
        && !st.cert_resolvers.iter().any(|c| &c.name == r)
    {
        let why = format!("certificate resolver `{r}` is not defined in the static configuration");
        errors.push(def.error(format!("{key}.tls.certResolver"), why));
    }
    let domains = super::static_acme::domains(
        t.domains.as_deref().unwrap_or_default(),
        &format!("{key}.tls.domains"),
        &mut |k, r| errors.push(def.error(k, r)),
    );
    RouterTls {
        options: t
            .options
            .as_deref()
            .map(|o| o.trim_end_matches("@file").to_string()),
        cert_resolver,
        domains,
    }
}

pub fn compile(
    st: &StaticConfig,
    files: &ProviderFiles,
    resolved: &Resolved,
    rules: &[Option<Rule>],
    errors: &mut Vec<ConfigError>,
) -> Option<TlsConfig> {
    let defs = &resolved.defs.tls;
    let before = errors.len();
    let default = default_cert(files, defs, errors);
    let mut store = CertStore::new(default?);
    for def in defs {
        for (i, c) in def.raw.certificates.iter().enumerate() {
            let key = format!("tls.certificates[{i}]");
            if c.stores.iter().any(|s| s != "default") {
                errors.push(def.error(
                    format!("{key}.stores"),
                    "only the `default` store is supported",
                ));
            }
            let loaded =
                load_pair(files, &def.file, &c.cert_file, &c.key_file).and_then(|k| store.add(k));
            if let Err(why) = loaded {
                errors.push(def.error(&key, why));
            }
        }
    }
    let store = Arc::new(store);
    let mut configs = HashMap::new();
    for def in defs {
        for (name, raw) in &def.raw.options {
            let key = format!("tls.options.{name}");
            let built =
                options(files, &def.file, raw).and_then(|o| acceptor::build(&o, store.clone()));
            match built {
                Err(why) => errors.push(def.error(&key, why)),
                Ok(_) if configs.contains_key(name) => errors
                    .push(def.error(&key, format!("`{name}` is defined in more than one file"))),
                Ok(cfg) => drop(configs.insert(name.clone(), cfg)),
            }
        }
    }
    if !configs.contains_key(DEFAULT_OPTIONS) {
        match acceptor::build(&TlsOptions::default(), store.clone()) {
            Ok(cfg) => drop(configs.insert(DEFAULT_OPTIONS.to_string(), cfg)),
            Err(why) => errors.push(ConfigError::new("", "tls.options.default", why)),
        }
    }
    for (name, def) in &resolved.defs.tcp_routers {
        let opt = def.raw.tls.as_ref().and_then(|t| t.options.as_deref());
        if let Some(opt) = opt.map(|o| o.trim_end_matches("@file"))
            && !configs.contains_key(opt)
        {
            let why = format!("TLS options `{opt}` are not defined");
            errors.push(def.error(format!("tcp.routers.{name}.tls.options"), why));
        }
    }
    let entries = entries(st, resolved, rules, &configs, errors);
    (errors.len() == before).then_some(TlsConfig {
        store,
        configs,
        entries,
    })
}

fn load_pair(
    files: &ProviderFiles,
    file: &Path,
    cert: &Option<String>,
    key: &Option<String>,
) -> Result<Arc<rustls::sign::CertifiedKey>, String> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err("both certFile and keyFile are required".into());
    };
    store::certified_key(pem(files, file, cert)?, pem(files, file, key)?)
}

fn default_cert(
    files: &ProviderFiles,
    defs: &[Def<RawTls>],
    errors: &mut Vec<ConfigError>,
) -> Option<Arc<rustls::sign::CertifiedKey>> {
    let mut found = None;
    for def in defs {
        for (name, s) in &def.raw.stores {
            let key = format!("tls.stores.{name}");
            if name != "default" {
                errors.push(def.error(&key, "only the `default` store is supported"));
                continue;
            }
            if s.default_generated_cert.is_some() {
                errors.push(def.error(
                    format!("{key}.defaultGeneratedCert"),
                    "not supported yet by proxyd",
                ));
            }
            let Some(c) = &s.default_certificate else {
                continue;
            };
            if found.is_some() {
                errors.push(def.error(
                    format!("{key}.defaultCertificate"),
                    "defined in more than one file",
                ));
                continue;
            }
            match load_pair(files, &def.file, &c.cert_file, &c.key_file) {
                Ok(k) => found = Some(k),
                Err(why) => errors.push(def.error(format!("{key}.defaultCertificate"), why)),
            }
        }
    }
    match found {
        Some(k) => Some(k),
        None => store::generated_default()
            .map_err(|e| errors.push(ConfigError::new("", "tls.stores.default", e)))
            .ok(),
    }
}

/// Application protocols that a terminated connection cannot be offered yet:
/// proxyd would agree to them in the handshake and then speak HTTP/1.1, which a
/// client that chose `h2` reads as a broken connection ("Empty reply"), and it
/// answers no ACME TLS-ALPN challenges.
const NOT_SERVED_ALPN: &[&str] = &["h2", "acme-tls/1"];

/// `alpnProtocols` less what proxyd does not serve yet (Traefik's own default
/// list, `h2, http/1.1, acme-tls/1`, is common in configurations), with a
/// warning naming what was left out.
fn served_alpn(list: &[String]) -> Vec<Vec<u8>> {
    let (kept, dropped): (Vec<&String>, Vec<&String>) = list
        .iter()
        .partition(|p| !NOT_SERVED_ALPN.contains(&p.as_str()));
    if !dropped.is_empty() {
        log::warn!(
            "tls.options alpnProtocols: {dropped:?} not offered (proxyd does not serve it yet); \
             clients negotiate among {kept:?}"
        );
    }
    kept.into_iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn options(files: &ProviderFiles, file: &Path, raw: &RawTlsOptions) -> Result<TlsOptions, String> {
    if raw.curve_preferences.is_some() {
        return Err("curvePreferences is not supported yet by proxyd".into());
    }
    let mut o = TlsOptions {
        session_tickets: raw.disable_session_tickets != Some(true),
        ..TlsOptions::default()
    };
    if let Some(v) = &raw.min_version {
        o.min_version =
            acceptor::parse_version(v, false).map_err(|e| format!("minVersion: {e}"))?;
    }
    if let Some(v) = &raw.max_version {
        o.max_version = acceptor::parse_version(v, true).map_err(|e| format!("maxVersion: {e}"))?;
    }
    o.cipher_suites = raw.cipher_suites.clone();
    if let Some(alpn) = &raw.alpn_protocols {
        o.alpn = served_alpn(alpn);
    }
    o.sni_strict = raw.sni_strict.unwrap_or(false);
    if let Some(auth) = &raw.client_auth {
        o.client_auth = match &auth.client_auth_type {
            Some(t) => {
                ClientAuthType::parse(t).map_err(|e| format!("clientAuth.clientAuthType: {e}"))?
            }
            // Traefik: CA files without a type mean "require and verify".
            None if !auth.ca_files.is_empty() => ClientAuthType::RequireAndVerifyClientCert,
            None => ClientAuthType::NoClientCert,
        };
        for ca in &auth.ca_files {
            let bytes = pem(files, file, ca).map_err(|e| format!("clientAuth.caFiles: {e}"))?;
            o.client_cas.push(bytes.to_vec());
        }
    }
    Ok(o)
}

/// Per entry point: its default options and the options of TLS routers' hosts.
fn entries(
    st: &StaticConfig,
    resolved: &Resolved,
    rules: &[Option<Rule>],
    configs: &HashMap<String, Arc<rustls::ServerConfig>>,
    errors: &mut Vec<ConfigError>,
) -> Vec<EntryTls> {
    let get = |name: &str| configs.get(name).cloned();
    let mut out = Vec::new();
    for ep in &st.entry_points {
        let name = ep
            .http_tls
            .as_ref()
            .and_then(|t| t.options.as_deref())
            .unwrap_or(DEFAULT_OPTIONS);
        let default = get(name).or_else(|| {
            let key = format!("entryPoints.{}.http.tls.options", ep.name);
            errors.push(ConfigError::new(
                st.source.display().to_string(),
                key,
                format!("TLS options `{name}` are not defined"),
            ));
            get(DEFAULT_OPTIONS)
        });
        let mut by_host: HashMap<String, (String, Arc<rustls::ServerConfig>)> = HashMap::new();
        for ((r, rule), file) in resolved
            .routers
            .iter()
            .zip(rules)
            .zip(&resolved.router_files)
        {
            let Some(opt) = r.tls.as_ref().and_then(|t| t.options.as_deref()) else {
                continue;
            };
            let Some(cfg) = get(opt) else {
                let key = format!(
                    "http.routers.{}.tls.options",
                    r.name.trim_end_matches("@file")
                );
                errors.push(ConfigError::new(
                    file.display().to_string(),
                    key,
                    format!("TLS options `{opt}` are not defined"),
                ));
                continue;
            };
            if !r.entry_points.contains(&ep.name) {
                continue;
            }
            for host in rule.as_ref().and_then(Rule::hosts).unwrap_or_default() {
                match by_host.get(&host) {
                    Some((other, _)) if other != opt => {
                        // Traefik: conflicting options for one host fall back to default.
                        log::warn!(
                            "host {host}: routers ask for TLS options `{other}` and `{opt}`; using `default`"
                        );
                        by_host.insert(
                            host,
                            (
                                DEFAULT_OPTIONS.into(),
                                get(DEFAULT_OPTIONS).expect("default exists"),
                            ),
                        );
                    }
                    Some(_) => {}
                    None => drop(by_host.insert(host, (opt.to_string(), cfg.clone()))),
                }
            }
        }
        if let Some(default) = default {
            out.push(EntryTls {
                default,
                by_host: by_host.into_iter().map(|(h, (_, c))| (h, c)).collect(),
            });
        }
    }
    out
}
