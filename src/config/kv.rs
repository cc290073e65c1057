//! The KV providers' configuration side: a store's pairs under `rootKey`, in
//! Traefik's key layout (`traefik/http/routers/<name>/rule`,
//! `.../services/<name>/loadBalancer/servers/0/url`), decoded into the same
//! [`RawDynamic`] the file provider parses, so the compile step and its errors
//! are shared. The clients that read the pairs live in `control::kv`.

mod decode;
mod qualify;
mod settings;
mod tls;
mod tree;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_providers;
#[cfg(test)]
mod tests_settings;

use std::path::PathBuf;

use serde::Deserialize;

use super::error::ConfigError;
use super::provider::SourceFile;
use super::raw_dynamic::RawDynamic;
use super::refused_keys::MAX_ERRORS;

pub use decode::DecodeError;
pub use settings::{
    DEFAULT_KV_POLL_INTERVAL, KvProvider, KvStore, RawEtcdProvider, RawRedisProvider, Sentinel,
};
pub use tls::KvTls;

/// The static `providers.redis` and `providers.etcd`, checked.
pub fn providers(
    redis: Option<RawRedisProvider>,
    etcd: Option<RawEtcdProvider>,
    c: &mut super::error::Collector,
) -> Vec<KvProvider> {
    let redis = redis.and_then(|r| settings::redis(r, c));
    let etcd = etcd.and_then(|e| settings::etcd(e, c));
    redis.into_iter().chain(etcd).collect()
}

/// Decodes the pairs under `root` (full store keys). On failure, every refused
/// key: each error's node is removed and the decode retried, as a file reports
/// every refused key rather than the first.
pub fn decode(root: &str, pairs: &[(String, String)]) -> Result<RawDynamic, Vec<DecodeError>> {
    let mut tree = tree::build(root, pairs);
    let mut errors = Vec::new();
    loop {
        match RawDynamic::deserialize(decode::NodeDe(&tree)) {
            Ok(raw) if errors.is_empty() => return Ok(raw),
            Ok(_) => return Err(errors),
            Err(e) => {
                // An error at the root (none expected) or one whose node cannot
                // be removed would repeat forever: report it and stop.
                let removed = !e.key.is_empty() && tree.remove(&e.key);
                errors.push(e);
                if !removed || errors.len() >= MAX_ERRORS {
                    return Err(errors);
                }
            }
        }
    }
}

/// The pairs as one source for the compile step: `name` (the provider, e.g.
/// `redis`) stands where a file's path would, the text that the fingerprint
/// covers is the sorted pairs, and errors name the store key.
pub fn source(name: &str, root: &str, pairs: &[(String, String)]) -> SourceFile {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let mut text = String::new();
    for (k, v) in sorted {
        // Keys cannot hold a newline in any layout Traefik reads; NUL keeps a
        // value's own `=` from shifting the boundary.
        text.push_str(k);
        text.push('\0');
        text.push_str(v);
        text.push('\n');
    }
    let parsed = decode(root, pairs).map(|mut raw| {
        qualify::qualify(&mut raw, name);
        raw
    });
    let parsed = parsed.map_err(|errs| {
        errs.into_iter()
            .map(|e| ConfigError::new(name, e.key, e.reason))
            .collect()
    });
    SourceFile {
        path: PathBuf::from(name),
        text,
        parsed,
    }
}
