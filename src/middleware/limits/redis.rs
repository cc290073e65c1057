//! `rateLimit.redis`: the token buckets kept in Redis, so every proxyd (and
//! Traefik) node using the same store shares one limit.
//!
//! As Traefik: one bucket per source under the key `rate:<middleware>:<source>`
//! (the middleware's qualified name, e.g. `rate:api-limit@file:192.0.2.7`), a
//! hash with the fields `last` (microseconds since the Unix epoch) and `tokens`,
//! updated by a Lua script with Traefik's arithmetic and expiring after `ttl`
//! seconds of silence. One script call (`EVALSHA`, `EVAL` when the server
//! does not know it yet) per request: one round trip.
//!
//! The request phase stops at this middleware (`Flow::Call`); the protocol
//! layer takes the source key ([`key`]) and awaits [`take`] on the worker's
//! own client (`net::redis_client`, in the middleware's per-worker `State`).
//! A store that fails answers 500 `Could not insert/update bucket`, logged,
//! as Traefik does; a request whose token is due within `maxDelay` is held
//! until then (or until its client leaves), and one due later gets the same
//! 429 as the in-process limiter.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{RateLimit, Source};
use crate::middleware::{Edits, Flow, HeaderOp, RequestInfo};
use crate::net::redis_client::{RedisError, Settings};
use crate::net::redis_cluster::Store;
use crate::net::resp::Reply;

/// Traefik's key prefix, shared with its nodes.
pub const KEY_PREFIX: &str = "rate:";

/// The bucket script. Arguments as Traefik passes them: tokens per
/// microsecond, burst, ttl (s), now (µs since the epoch), maxDelay (µs).
/// Reply: `{"true", wait in µs, tokens left}`, numbers as Lua prints them.
/// A request whose wait is over maxDelay is refused and gives its token
/// back; the state is written either way.
pub const SCRIPT: &str = r#"-- proxyd rateLimit bucket (Traefik's layout: fields last, tokens)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl, now, max_delay = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local last, tokens = 0, 0
local kept = redis.call('HMGET', KEYS[1], 'last', 'tokens')
if kept[1] and kept[2] then
  last, tokens = tonumber(kept[1]), tonumber(kept[2])
end
if now < last then last = now end
tokens = math.min(tokens + rate * (now - last), burst) - 1
local wait = 0
if tokens < 0 then
  wait = -tokens / rate
  if wait > max_delay then tokens = math.min(tokens + 1, burst) end
end
redis.call('HSET', KEYS[1], 'last', now, 'tokens', tokens)
redis.call('EXPIRE', KEYS[1], ttl)
return {tostring(true), tostring(wait), tostring(tokens)}
"#;

/// The body of Traefik's answer when the store fails (Go's `http.Error`).
pub const STORE_FAILED: &[u8] = b"Could not insert/update bucket\n";

/// A compiled `rateLimit.redis`, with the bucket's parameters as Traefik
/// sends them to the script.
#[derive(Debug)]
pub struct RedisRate {
    pub settings: Arc<Settings>,
    /// `average / period` in tokens per microsecond.
    pub per_us: f64,
    pub burst: u64,
    /// Seconds a silent bucket is kept: 2 at 1 req/s or more, else 1 + 1/rate.
    pub ttl: u64,
    /// Longest wait still admitted, in µs.
    pub max_delay_us: u64,
    /// The script's SHA-1 in hex, for `EVALSHA`.
    pub sha: String,
}

impl RedisRate {
    /// Traefik's derived values from `average` per `period` and `burst`;
    /// `None` when there is no limit (average 0).
    pub fn new(
        settings: Settings,
        average: u64,
        period: Duration,
        burst: u64,
    ) -> Option<RedisRate> {
        if average == 0 {
            return None;
        }
        let per_s = average as f64 * 1e9 / period.as_nanos() as f64;
        let max_delay_ns = match per_s < 1.0 {
            true => 500_000_000,
            false => 1_000_000_000 / (per_s as u64 * 2).max(1),
        };
        let ttl = match per_s >= 1.0 {
            true => 2,
            false => 1 + (1.0 / per_s) as u64,
        };
        Some(RedisRate {
            settings: Arc::new(settings),
            per_us: per_s / 1e6,
            burst: burst.max(1),
            ttl,
            max_delay_us: max_delay_ns / 1000,
            sha: sha1_hex(SCRIPT),
        })
    }
}

fn sha1_hex(text: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bucket's key for this request: `rate:<name>:<source>`; empty (no
/// allocation) without `redis`, where the call is a hold.
pub fn key(rl: &RateLimit, name: &str, req: &RequestInfo<'_>) -> Vec<u8> {
    if !rl.needs_call() {
        return Vec::new();
    }
    let mut k = Vec::with_capacity(64);
    k.extend_from_slice(KEY_PREFIX.as_bytes());
    k.extend_from_slice(name.as_bytes());
    k.push(b':');
    match &rl.source {
        Source::Ip(s) => {
            use std::io::Write;
            if let Some(ip) = s.client_ip(req) {
                let _ = write!(k, "{ip}");
            }
        }
        Source::Header(h) => {
            req.headers.any_value(h, &mut |v| {
                k.extend_from_slice(v);
                true
            });
        }
        Source::Host => k.extend_from_slice(req.host),
    }
    k
}

/// What the protocol layer runs when the chain stopped at a rateLimit
/// (`Flow::Call`): the hold the in-process limiter asked for, or the call to
/// Redis (`key`: the request's source key, from [`key`] when
/// [`RateLimit::needs_call`]) and the hold its reply asks for. `gone`
/// resolves when the client leaves; it ends a hold (`limits::hold`).
/// `Flow::Next` to go on after it, or `Flow::Answer` with the answer in
/// `edits` and the chain's response edits in order.
pub async fn call<G: Future<Output = ()>>(
    rl: &RateLimit,
    name: &str,
    state: &crate::middleware::State,
    key: &[u8],
    edits: &mut Edits,
    gone: impl FnOnce() -> G,
) -> Flow {
    let delay = match edits.take_delay() {
        Some(delay) => delay,
        None => {
            let (Some(r), Some(client)) = (&rl.redis, state.redis()) else {
                return Flow::Next;
            };
            match take(r, client, name, key, edits).await {
                Some(delay) => delay,
                None => return answered(edits),
            }
        }
    };
    match super::hold(delay, name, edits, gone).await {
        Flow::Answer => answered(edits),
        flow => flow,
    }
}

/// The chain stops with the answer recorded in `edits`.
fn answered(edits: &mut Edits) -> Flow {
    edits.finish_chain();
    Flow::Answer
}

/// Takes a token from the shared bucket `key`: `Some(wait)` before the
/// request goes on (zero: at once; as Traefik, one due within `maxDelay` is
/// held until then), or `None` with the 429 or the 500 recorded in `edits`.
pub async fn take(
    r: &RedisRate,
    client: &Store,
    name: &str,
    key: &[u8],
    edits: &mut Edits,
) -> Option<Duration> {
    match eval(r, client, key).await {
        Ok(wait_us) if wait_us <= r.max_delay_us as f64 => {
            Some(Duration::from_nanos((wait_us.max(0.0) * 1000.0) as u64))
        }
        Ok(wait_us) => {
            let delay = Duration::from_nanos((wait_us * 1000.0) as u64);
            super::rate::refuse(delay, edits);
            None
        }
        Err(why) => {
            log::error!("rateLimit {name}: Could not insert/update bucket: {why}");
            edits.response_header(HeaderOp::Set, b"X-Content-Type-Options", b"nosniff");
            edits.answer(500, STORE_FAILED);
            None
        }
    }
}

/// Why the script gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Store(#[from] RedisError),
    #[error("script refused: {0}")]
    Script(String),
    #[error("unexpected script reply {0:?}")]
    Reply(Reply),
}

/// Runs the script (`EVALSHA`, then `EVAL` on `NOSCRIPT`); the wait in µs.
async fn eval(r: &RedisRate, client: &Store, key: &[u8]) -> Result<f64, EvalError> {
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    let (mut a, mut b, mut c, mut d, mut e) = Default::default();
    let args: [&[u8]; 5] = [
        num(&mut a, r.per_us),
        num(&mut b, r.burst),
        num(&mut c, r.ttl),
        num(&mut d, now_us),
        num(&mut e, r.max_delay_us),
    ];
    let mut reply = client
        .call(key, &command(b"EVALSHA", r.sha.as_bytes(), key, &args))
        .await?;
    if matches!(&reply, Reply::Error(e) if e.starts_with(b"NOSCRIPT")) {
        let eval = command(b"EVAL", SCRIPT.as_bytes(), key, &args);
        reply = client.call(key, &eval).await?;
    }
    wait_of(reply)
}

/// `<verb> <script or sha> 1 <key> <args…>`.
fn command<'a>(
    verb: &'a [u8],
    body: &'a [u8],
    key: &'a [u8],
    args: &[&'a [u8]; 5],
) -> [&'a [u8]; 9] {
    [
        verb, body, b"1", key, args[0], args[1], args[2], args[3], args[4],
    ]
}

fn num(buf: &mut String, v: impl std::fmt::Display) -> &[u8] {
    use std::fmt::Write;
    let _ = write!(buf, "{v}");
    buf.as_bytes()
}

/// The wait from the script's reply `{ok, wait, tokens}`.
fn wait_of(reply: Reply) -> Result<f64, EvalError> {
    let parsed = match &reply {
        Reply::Error(e) => return Err(EvalError::Script(String::from_utf8_lossy(e).into())),
        Reply::Array(Some(items)) if items.len() >= 2 => items[1]
            .as_bytes()
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|w| w.is_finite()),
        _ => None,
    };
    parsed.ok_or(EvalError::Reply(reply))
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
