//! The definitions of every dynamic file, merged by name ([`Defs`]): each
//! kept with the file it came from ([`Def`]), a name defined twice refused
//! naming both files, and the names of definitions across providers
//! (`name@provider`, [`qualified`], [`def_key`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::error::ConfigError;
use crate::config::provider::SourceFile;
use crate::config::raw_dynamic::*;

/// One definition and the file it came from.
pub struct Def<T> {
    /// Shared by every definition of the file: one allocation per file, not per
    /// definition (20,000 of them in a 10k-router file).
    pub file: Arc<Path>,
    pub raw: T,
}

impl<T> Def<T> {
    pub fn file(&self) -> String {
        self.file.display().to_string()
    }

    pub fn error(&self, key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::new(self.file(), key, reason)
    }
}

/// Every definition of every file, by unqualified name.
#[derive(Default)]
pub struct Defs {
    pub routers: BTreeMap<String, Def<RawRouter>>,
    pub services: BTreeMap<String, Def<RawService>>,
    pub transports: BTreeMap<String, Def<RawServersTransport>>,
    pub middlewares: BTreeMap<String, Def<crate::config::raw_middleware::RawMiddleware>>,
    pub tcp_routers: BTreeMap<String, Def<crate::config::raw_tls::RawTcpRouter>>,
    pub tcp_services: BTreeMap<String, Def<crate::config::raw_tls::RawTcpService>>,
    /// Every file's `tls` section (certificates are a list, not named).
    pub tls: Vec<Def<crate::config::raw_tls::RawTls>>,
    /// Some file failed to parse: its definitions are missing, so dangling
    /// references may be a consequence rather than a mistake.
    pub incomplete: bool,
}

pub(super) fn merge(files: Vec<SourceFile>, errors: &mut Vec<ConfigError>) -> Defs {
    let mut defs = Defs::default();
    for f in files {
        match f.parsed {
            Ok(raw) => {
                let before = errors.len();
                add_file(&mut defs, &f.path, raw, errors);
                crate::config::refused_keys::add_positions(&f.text, &mut errors[before..]);
            }
            Err(e) => {
                defs.incomplete = true;
                errors.extend(e);
            }
        }
    }
    defs
}

fn add_file(defs: &mut Defs, path: &Path, raw: RawDynamic, errors: &mut Vec<ConfigError>) {
    let file = path.display().to_string();
    for key in raw.unsupported() {
        errors.push(ConfigError::new(
            &file,
            key,
            format!("`{key}` is not supported yet by proxyd"),
        ));
    }
    if let Some(tcp) = raw.tcp {
        crate::config::tcp::add_file(defs, path, tcp, errors);
    }
    if let Some(tls) = raw.tls {
        defs.tls.push(Def {
            file: path.into(),
            raw: tls,
        });
    }
    let Some(http) = raw.http else { return };
    insert(
        &mut defs.routers,
        "http.routers",
        path,
        http.routers,
        errors,
    );
    insert(
        &mut defs.services,
        "http.services",
        path,
        http.services,
        errors,
    );
    insert(
        &mut defs.transports,
        "http.serversTransports",
        path,
        http.servers_transports,
        errors,
    );
    insert(
        &mut defs.middlewares,
        "http.middlewares",
        path,
        http.middlewares,
        errors,
    );
}

/// Adds one file's definitions; a name already defined elsewhere is an error
/// naming both files (the first definition is kept so later errors stay sane).
pub fn insert<T>(
    map: &mut BTreeMap<String, Def<T>>,
    section: &str,
    path: &Path,
    items: BTreeMap<String, T>,
    errors: &mut Vec<ConfigError>,
) {
    let file: Arc<Path> = path.into();
    // The key text is only built for an error.
    let error = |name: &str, reason: String| {
        let key = format!("{section}.{name}");
        ConfigError::new(path.display().to_string(), key, reason)
    };
    let mut fresh = Vec::with_capacity(items.len());
    for (name, raw) in items {
        // A KV source's names come qualified with its provider (`config::kv`).
        let own = split_provider(&name)
            .1
            .is_some_and(|p| Path::new(p) == path);
        if name.contains('@') && !own {
            let reason = "names cannot contain '@' (it separates the provider: `name@file`)";
            errors.push(error(&name, reason.into()));
        } else if let Some(first) = map.get(&name) {
            let (first, this) = (first.file(), path.display());
            let reason = format!("`{name}` is defined in both {first} and {this}");
            errors.push(error(&name, reason));
        } else {
            let file = file.clone();
            fresh.push((name, Def { file, raw }));
        }
    }
    if map.is_empty() {
        // Usually the first file, and often the only one: `fresh` is in name order,
        // so the tree is built in one pass instead of one search per name.
        *map = BTreeMap::from_iter(fresh);
    } else {
        map.extend(fresh);
    }
}

/// Providers whose definitions are keyed by their qualified name (`app@redis`,
/// see `config::kv`); the file provider's are keyed by the bare name.
pub const KV_PROVIDERS: &[&str] = &["redis", "etcd"];

/// The name shown for a definition keyed `key` (`app` → `app@file`).
pub fn qualified(key: &str) -> String {
    if key.contains('@') {
        key.to_string()
    } else {
        format!("{key}@file")
    }
}

/// The key a reference is defined under: the bare name for `@file` (or no
/// provider), the whole name for a KV provider; `None` for any other provider.
pub fn def_key(name: &str) -> Option<&str> {
    match split_provider(name) {
        (base, None | Some("file")) => Some(base),
        (_, Some(p)) if KV_PROVIDERS.contains(&p) => Some(name),
        _ => None,
    }
}

/// Splits `name@provider`; `None` provider means unqualified.
pub fn split_provider(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('@') {
        Some((base, provider)) => (base, Some(provider)),
        None => (name, None),
    }
}

/// The reason for a dangling reference, hedged when a file failed to parse.
pub fn not_defined(defs: &Defs, what: &str, name: &str) -> String {
    let mut reason = format!("{what} `{name}` is not defined");
    if defs.incomplete {
        reason.push_str(" (some files failed to parse; it may be defined there)");
    }
    reason
}
