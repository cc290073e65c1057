//! Compiles `rateLimit.redis` with Traefik's defaults (`Redis.SetDefaults`
//! and go-redis'): the endpoint's address is resolved here, on the control
//! thread, so a worker never waits on DNS.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::Refusal;
use crate::config::raw_middleware::RawRateLimitRedis;
use crate::middleware::limits::RedisRate;
use crate::net::redis_client::Settings;

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
    let endpoint = match r.endpoints.as_slice() {
        [] => DEFAULT_ENDPOINT.to_string(),
        [one] => one.clone(),
        // go-redis' UniversalClient makes a cluster client of several.
        _ => {
            return Err((
                "redis.endpoints".into(),
                "more than one endpoint (a Redis Cluster) is not supported yet".into(),
            ));
        }
    };
    let count = |key: &str, v: Option<i64>| -> Result<usize, Refusal> {
        let v = v.unwrap_or(0);
        usize::try_from(v).map_err(|_| (format!("redis.{key}"), format!("{v} is negative")))
    };
    let db = count("db", r.db)?;
    count("minIdleConns", r.min_idle_conns)?;
    let settings = Settings {
        addr: resolve(&endpoint),
        endpoint,
        tls: None,
        username: r.username.clone(),
        password: r.password.clone(),
        db: db as i64,
        pool_size: match count("poolSize", r.pool_size)? {
            0 => DEFAULT_POOL_SIZE,
            n => n,
        },
        max_active: count("maxActiveConns", r.max_active_conns)?,
        dial_timeout: r
            .dial_timeout
            .map(|d| d.0)
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_DIAL_TIMEOUT),
        read_timeout: io_timeout(r.read_timeout),
        write_timeout: io_timeout(r.write_timeout),
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
