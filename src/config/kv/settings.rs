//! Static `providers.redis` and `providers.etcd`: Traefik's options and
//! defaults, checked into [`KvProvider`] (`tls` is built in `kv/tls.rs`).
//! Redis `sentinel` options that route reads to replicas are refused as not
//! supported yet, never ignored.

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
    pub sentinel: Option<RawSentinel>,
}

/// Traefik's `providers.redis.sentinel`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSentinel {
    pub master_name: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub latency_strategy: Option<bool>,
    pub random_strategy: Option<bool>,
    pub replica_strategy: Option<bool>,
    pub use_disconnected_replicas: Option<bool>,
}

/// Redis Sentinel: `endpoints` are the sentinels, asked for the master.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentinel {
    pub master_name: String,
    pub username: Option<String>,
    pub password: Option<String>,
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
    /// Redis only.
    pub sentinel: Option<Sentinel>,
}

pub fn redis(raw: RawRedisProvider, c: &mut Collector) -> Option<KvProvider> {
    let sentinel = raw.sentinel.map(|s| sentinel(s, c));
    let tls = raw.tls.map(|t| client_tls(t, "providers.redis", c));
    let p = provider(
        KvStore::Redis,
        (raw.root_key, raw.endpoints, DEFAULT_REDIS_ENDPOINT),
        (raw.username, raw.password),
        raw.db.unwrap_or(0),
        c,
    )
    .and_then(|p| with_tls(p, tls))?;
    match sentinel {
        Some(None) => None,
        sentinel => Some(KvProvider {
            sentinel: sentinel.flatten(),
            ..p
        }),
    }
}

/// Checks `sentinel`. proxyd only reads, and reads from the master: the
/// options that send reads to replicas are refused rather than ignored.
fn sentinel(raw: RawSentinel, c: &mut Collector) -> Option<Sentinel> {
    let key = |k: &str| format!("providers.redis.sentinel.{k}");
    let strategies = [
        ("latencyStrategy", raw.latency_strategy),
        ("randomStrategy", raw.random_strategy),
        ("replicaStrategy", raw.replica_strategy),
        ("useDisconnectedReplicas", raw.use_disconnected_replicas),
    ];
    let set: Vec<&str> = strategies[..3]
        .iter()
        .filter(|(_, on)| *on == Some(true))
        .map(|(k, _)| *k)
        .collect();
    if set.len() > 1 {
        c.push(
            key(set[1]),
            "latencyStrategy, randomStrategy and replicaStrategy options are mutually exclusive, please use only one of those options",
        );
        return None;
    }
    if let Some((k, _)) = strategies.iter().find(|(_, on)| *on == Some(true)) {
        c.push(
            key(k),
            "not supported yet by proxyd: it reads the configuration from the master only",
        );
        return None;
    }
    let Some(master_name) = raw.master_name.filter(|m| !m.is_empty()) else {
        c.push(key("masterName"), "is required with sentinel");
        return None;
    };
    Some(Sentinel {
        master_name,
        username: raw.username.filter(|u| !u.is_empty()),
        password: raw.password.filter(|p| !p.is_empty()),
    })
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
        sentinel: None,
    })
}
