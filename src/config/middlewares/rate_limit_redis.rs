//! Compiles `rateLimit.redis` with Traefik's defaults (`Redis.SetDefaults`
//! and go-redis'): the endpoints' addresses are resolved here, on the control
//! thread, so a worker never waits on DNS (a cluster's nodes are named by
//! address in its slot map). Several endpoints are a Redis Cluster's seeds. `tls` is built by the same code as
//! a servers transport's (`transport_tls.rs`): `ca` as its `rootCAs`, `cert`
//! and `key` as its client certificate.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Refusal;
use crate::config::raw_dynamic::RawServersTransport;
use crate::config::raw_middleware::{RawRateLimitRedis, RawRedisTls};
use crate::config::transport_tls::{self, RawClientCert};
use crate::middleware::limits::RedisRate;
use crate::net::redis_client::Settings;
use crate::net::upstream_tls::TlsTarget;

/// Traefik's default endpoint.
pub const DEFAULT_ENDPOINT: &str = "localhost:6379";
/// Traefik's default `readTimeout` and `writeTimeout`.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(3);
/// Traefik's default `dialTimeout` (also used for `0`).
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// go-redis' `poolSize` for `0`: 10 per CPU; proxyd keeps 10 per worker.
pub const DEFAULT_POOL_SIZE: usize = 10;

/// The compiled store settings and bucket parameters; `None` when there is
/// no limit (average 0), as Traefik then never asks the store.
pub(super) fn compile(
    r: &RawRateLimitRedis,
    average: u64,
    period: Duration,
    burst: u64,
) -> Result<Option<Box<RedisRate>>, Refusal> {
    let endpoints = match r.endpoints.as_slice() {
        [] => vec![DEFAULT_ENDPOINT.to_string()],
        all => all.to_vec(),
    };
    // go-redis' UniversalClient makes a cluster client of several (Traefik
    // sets no sentinel master name): they are then the cluster's seeds.
    let seeds: Vec<_> = match endpoints.len() > 1 {
        true => endpoints.iter().map(|e| (e.clone(), resolve(e))).collect(),
        false => Vec::new(),
    };
    if !seeds.is_empty() && r.tls.is_some() {
        // Each node is reached at the address the cluster names, which the
        // certificate would have to be verified against: not built yet.
        return Err((
            "redis.tls".into(),
            "TLS to a Redis Cluster (several endpoints) is not supported yet".into(),
        ));
    }
    let endpoint = endpoints.join(",");
    let count = |key: &str, v: Option<i64>| -> Result<usize, Refusal> {
        let v = v.unwrap_or(0);
        usize::try_from(v).map_err(|_| (format!("redis.{key}"), format!("{v} is negative")))
    };
    let db = count("db", r.db)?;
    let settings = Settings {
        addr: resolve(&endpoints[0]),
        tls: match &r.tls {
            Some(t) => Some(tls(t, &endpoint)?),
            None => None,
        },
        username: r.username.clone(),
        password: r.password.clone(),
        db: db as i64,
        pool_size: match count("poolSize", r.pool_size)? {
            0 => DEFAULT_POOL_SIZE,
            n => n,
        },
        max_active: count("maxActiveConns", r.max_active_conns)?,
        min_idle: count("minIdleConns", r.min_idle_conns)?,
        dial_timeout: r
            .dial_timeout
            .map(|d| d.0)
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_DIAL_TIMEOUT),
        read_timeout: io_timeout(r.read_timeout),
        write_timeout: io_timeout(r.write_timeout),
        endpoint,
        seeds,
    };
    Ok(RedisRate::new(settings, average, period, burst).map(Box::new))
}

/// Unset: 3 s; `0`: no timeout (go-redis' -1), as Traefik maps it.
fn io_timeout(v: Option<crate::config::duration::ConfigDuration>) -> Option<Duration> {
    match v {
        None => Some(DEFAULT_IO_TIMEOUT),
        Some(d) if d.0.is_zero() => None,
        Some(d) => Some(d.0),
    }
}

/// `host:port` → an address, IPv4 first (Go's dialer would try them all; a
/// Redis bound to 127.0.0.1 is the common `localhost`). A name that does not
/// resolve does not refuse the configuration: every request then gets the
/// store's failure answer, with the reason logged.
fn resolve(endpoint: &str) -> Result<SocketAddr, String> {
    let all: Vec<SocketAddr> = endpoint
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| "no address".to_string())
}

/// The TLS target of `tls`: each of `ca`, `cert`, `key` is PEM text or a
/// file (read here, relative to the working directory as Traefik reads it);
/// the name verified is the endpoint's host.
fn tls(t: &RawRedisTls, endpoint: &str) -> Result<Arc<TlsTarget>, Refusal> {
    let refuse = |key: &str, why: String| (format!("redis.tls.{key}"), why);
    let certificates = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => Some(vec![RawClientCert {
            cert_file: Some(c.clone()),
            key_file: Some(k.clone()),
        }]),
        (None, None) => None,
        _ => return Err(refuse("cert", "cert and key go together".into())),
    };
    let raw = RawServersTransport {
        insecure_skip_verify: Some(t.insecure_skip_verify),
        root_cas: t.ca.clone().map(|ca| vec![ca]),
        certificates,
        ..Default::default()
    };
    let mut extra: Vec<(PathBuf, Result<Vec<u8>, String>)> = [&t.ca, &t.cert, &t.key]
        .into_iter()
        .flatten()
        .filter(|v| !v.trim_start().starts_with("-----BEGIN"))
        .map(|v| {
            let read = std::fs::read(v).map_err(|e| format!("cannot read {v}: {e}"));
            (PathBuf::from(v), read)
        })
        .collect();
    extra.sort_by(|a, b| a.0.cmp(&b.0));
    extra.dedup_by(|a, b| a.0 == b.0);
    let compiled = transport_tls::compile(Path::new(""), &raw, &extra).map_err(|errors| {
        let (key, why) = errors.into_iter().next().unwrap_or_default();
        // The transport's names for these keys, back to Traefik's.
        let key = match key.as_str() {
            k if k.starts_with("rootCAs") => "ca",
            k if k.ends_with("keyFile") => "key",
            _ => "cert",
        };
        refuse(key, why)
    })?;
    let tls = compiled.ok_or_else(|| refuse("ca", "no TLS settings".into()))?;
    let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    transport_tls::target(&tls, host).map_err(|why| ("redis.endpoints".into(), why))
}
