//! Static `providers.redis` and `providers.etcd`: Traefik's options and
//! defaults, checked into [`KvProvider`] (`tls` is built in `kv/tls.rs`).
//! Options proxyd does not implement yet (Redis `sentinel`) are refused as
//! such, never ignored.

use std::time::Duration;

use serde::Deserialize;

use super::tls::{KvTls, RawClientTls, client_tls};
use crate::config::error::Collector;

/// Traefik's `rootKey` default (both stores).
pub const DEFAULT_ROOT_KEY: &str = "traefik";
/// Traefik's `providers.redis.endpoints` default.
pub const DEFAULT_REDIS_ENDPOINT: &str = "127.0.0.1:6379";
/// Traefik's `providers.etcd.endpoints` default.
pub const DEFAULT_ETCD_ENDPOINT: &str = "127.0.0.1:2379";
/// How often a Redis store without keyspace notifications is read again for
/// changes (an unchanged read publishes nothing).
pub const DEFAULT_KV_POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedisProvider {
    pub root_key: Option<String>,
    pub endpoints: Option<Vec<String>>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<u32>,
    pub tls: Option<RawClientTls>,
    pub sentinel: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEtcdProvider {
    pub root_key: Option<String>,
    pub endpoints: Option<Vec<String>>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<RawClientTls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvStore {
    Redis,
    Etcd,
}

impl KvStore {
    /// The provider's name: what objects are qualified with (`svc@redis`).
    pub fn name(self) -> &'static str {
        match self {
            KvStore::Redis => "redis",
            KvStore::Etcd => "etcd",
        }
    }
}

/// One KV provider, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct KvProvider {
    pub store: KvStore,
    /// `host:port`, tried in order.
    pub endpoints: Vec<String>,
    pub root_key: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Redis database number (`SELECT`); 0 for etcd.
    pub db: u32,
    /// `tls`: the client config when the store speaks TLS.
    pub tls: Option<KvTls>,
}

pub fn redis(raw: RawRedisProvider, c: &mut Collector) -> Option<KvProvider> {
    refuse_unsupported(c, "providers.redis", &[("sentinel", &raw.sentinel)]);
    let tls = raw.tls.map(|t| client_tls(t, "providers.redis", c));
    provider(
        KvStore::Redis,
        (raw.root_key, raw.endpoints, DEFAULT_REDIS_ENDPOINT),
        (raw.username, raw.password),
        raw.db.unwrap_or(0),
        c,
    )
    .and_then(|p| with_tls(p, tls))
}

pub fn etcd(raw: RawEtcdProvider, c: &mut Collector) -> Option<KvProvider> {
    let tls = raw.tls.map(|t| client_tls(t, "providers.etcd", c));
    provider(
        KvStore::Etcd,
        (raw.root_key, raw.endpoints, DEFAULT_ETCD_ENDPOINT),
        (raw.username, raw.password),
        0,
        c,
    )
    .and_then(|p| with_tls(p, tls))
}

/// `tls` is `Some(None)` when it was given and refused.
fn with_tls(p: KvProvider, tls: Option<Option<KvTls>>) -> Option<KvProvider> {
    match tls {
        Some(None) => None,
        tls => Some(KvProvider {
            tls: tls.flatten(),
            ..p
        }),
    }
}

fn refuse_unsupported(c: &mut Collector, section: &str, keys: &[(&str, &Option<toml::Value>)]) {
    for (key, v) in keys {
        if v.is_some() {
            c.push(
                format!("{section}.{key}"),
                format!("`{key}` is not supported yet by proxyd"),
            );
        }
    }
}

fn provider(
    store: KvStore,
    (root_key, endpoints, default_endpoint): (Option<String>, Option<Vec<String>>, &str),
    (username, password): (Option<String>, Option<String>),
    db: u32,
    c: &mut Collector,
) -> Option<KvProvider> {
    let section = format!("providers.{}", store.name());
    let root_key = root_key.unwrap_or_else(|| DEFAULT_ROOT_KEY.to_string());
    let root_key = root_key.trim_matches('/').to_string();
    if root_key.is_empty() {
        c.push(format!("{section}.rootKey"), "must not be empty");
        return None;
    }
    let endpoints = endpoints.unwrap_or_else(|| vec![default_endpoint.to_string()]);
    if endpoints.is_empty() {
        c.push(
            format!("{section}.endpoints"),
            "at least one endpoint is required",
        );
        return None;
    }
    for (i, e) in endpoints.iter().enumerate() {
        // Traefik's endpoints are `host:port`; a scheme would be dialled as a host.
        if e.contains("://")
            || e.rsplit_once(':')
                .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            c.push(
                format!("{section}.endpoints[{i}]"),
                format!("{e:?} is not host:port"),
            );
            return None;
        }
    }
    Some(KvProvider {
        store,
        endpoints,
        root_key,
        username,
        password,
        db,
        tls: None,
    })
}
