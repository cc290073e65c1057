//! `rateLimit`: Traefik's token bucket per source (golang.org/x/time/rate with
//! reservations), kept as one 64-bit word per source: a 16-bit tag and the
//! 48-bit time at which the bucket is full again ("theoretical arrival time",
//! in units of 1/4096 of a token's interval, wrapping). A bucket whose time is
//! not ahead of now is full, so an idle source's word is free for another.
//!
//! As Traefik, a request reserves a token; when the token is due at most
//! `maxDelay` away (1/(2·rate), or 500 ms below 1 req/s) the request is held
//! until then (the chain stops with `Flow::Call` and the protocol layer waits
//! on the worker's timer, [`hold`], which gives up when the client leaves),
//! and when it is further it gets a 429 and the reservation is given back
//! (nothing is written).

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{SLOTS, Source, WAYS, set_of, table};
use crate::middleware::{At, Edits, Flow, HeaderOp, RequestInfo};

const TIME_BITS: u32 = 48;
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;
/// Sub-token precision of the stored time.
const UNITS_PER_TOKEN: f64 = 4096.0;
/// Bursts beyond this are as good as unlimited (and keep times within 2^47).
pub const MAX_BURST: u64 = 1 << 30;

/// The bucket's parameters, in time units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Nanoseconds per unit.
    unit_ns: f64,
    /// One token's interval.
    t: u64,
    /// `burst` tokens' worth.
    burst_t: u64,
    /// How far the reservation may reach into the future and still pass.
    max_delay: u64,
}

/// What one request's reservation decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// Admitted; the bucket's new full time.
    Admit(u64),
    /// Refused: the token would be due in this many units.
    Refuse(u64),
}

impl Bucket {
    /// `None`: no limit (average 0, or a rate past one request per nanosecond).
    pub fn new(average: u64, period: Duration, burst: u64) -> Option<Bucket> {
        if average == 0 {
            return None;
        }
        let token_ns = period.as_nanos() as f64 / average as f64;
        if token_ns < 1.0 {
            return None;
        }
        let rate = 1e9 / token_ns;
        // Traefik: 1/(2·rate) with the rate truncated to whole requests per
        // second, or 500 ms below 1 req/s.
        let max_delay_ns = match rate < 1.0 {
            true => 5e8,
            false => (1_000_000_000u64 / (rate as u64 * 2)) as f64,
        };
        let unit_ns = (token_ns / UNITS_PER_TOKEN).max(1.0);
        let t = (token_ns / unit_ns).round() as u64;
        Some(Bucket {
            unit_ns,
            t,
            burst_t: burst.clamp(1, MAX_BURST) * t,
            max_delay: (max_delay_ns / unit_ns) as u64,
        })
    }

    /// `now` in units since `epoch`, wrapped to the stored width.
    pub fn now(&self, epoch: Instant) -> u64 {
        (epoch.elapsed().as_nanos() as f64 / self.unit_ns) as u64 & TIME_MASK
    }

    /// How long a request that took the token up to `next` waits for it:
    /// the part of the debt beyond the burst.
    pub fn wait(&self, next: u64, now: u64) -> u64 {
        (next.wrapping_sub(now) & TIME_MASK).saturating_sub(self.burst_t)
    }

    pub fn to_duration(&self, units: u64) -> Duration {
        Duration::from_nanos((units as f64 * self.unit_ns) as u64)
    }

    /// One token from a bucket full at `tat` (`None`: a fresh, full bucket).
    pub fn take(&self, tat: Option<u64>, now: u64) -> Take {
        let base = match tat {
            Some(tat) if self.ahead(tat, now) => tat,
            _ => now,
        };
        let next = base.wrapping_add(self.t) & TIME_MASK;
        let ahead = next.wrapping_sub(now) & TIME_MASK;
        if ahead <= self.burst_t + self.max_delay {
            Take::Admit(next)
        } else {
            Take::Refuse(ahead - self.burst_t)
        }
    }

    /// Whether `tat` is in the future: within the furthest a bucket can be
    /// drained ahead; anything else wrapped around from the past (full).
    fn ahead(&self, tat: u64, now: u64) -> bool {
        let d = tat.wrapping_sub(now) & TIME_MASK;
        d != 0 && d <= self.burst_t + self.max_delay + self.t
    }
}

/// One rateLimit middleware's buckets, shared by every worker.
#[derive(Debug)]
pub struct RateTable {
    words: Box<[AtomicU64]>,
    seed: RandomState,
    pub(super) epoch: Instant,
}

impl Default for RateTable {
    fn default() -> RateTable {
        RateTable::with_slots(SLOTS)
    }
}

impl RateTable {
    pub fn with_slots(n: usize) -> RateTable {
        RateTable {
            words: table(n),
            seed: RandomState::new(),
            epoch: Instant::now(),
        }
    }

    /// Takes a token for the source `hash`: `Ok(units)` to wait before it is
    /// due (0: at once), `Err(units)` when refused. `now`
    /// is read after the set's words: then no word holds a time taken later
    /// than it, so a drained bucket is never mistaken for a wrapped-around
    /// (full) one by a worker that was descheduled with an older clock.
    pub fn take(&self, b: &Bucket, hash: u64, now: impl Fn() -> u64) -> Result<u64, u64> {
        let set = &self.words[set_of(hash) % self.words.len()..][..WAYS];
        let tag = (hash >> TIME_BITS).max(1) << TIME_BITS;
        // Bounded: a lost compare-exchange means another worker moved this
        // set; after a few, admit rather than spin on the request path.
        for _ in 0..8 {
            let mut victim: Option<(usize, u64, u64)> = None;
            let mut mine = None;
            let mut words = [0u64; WAYS];
            for (w, word) in words.iter_mut().zip(set) {
                *w = word.load(Ordering::Acquire);
            }
            let now = now();
            for (i, &w) in words.iter().enumerate() {
                if w & !TIME_MASK == tag {
                    mine = Some((i, w));
                    break;
                }
                // The fullest bucket is the cheapest to forget; a full one
                // (or an empty word) costs nothing.
                let left = match b.ahead(w & TIME_MASK, now) && w != 0 {
                    true => (w & TIME_MASK).wrapping_sub(now) & TIME_MASK,
                    false => 0,
                };
                if victim.is_none_or(|(_, _, l)| left < l) {
                    victim = Some((i, w, left));
                }
            }
            let (i, w, tat) = match (mine, victim) {
                (Some((i, w)), _) => (i, w, Some(w & TIME_MASK)),
                (None, Some((i, w, _))) => (i, w, None),
                (None, None) => return Ok(0),
            };
            match b.take(tat, now) {
                Take::Refuse(wait) => return Err(wait),
                Take::Admit(next) => {
                    let cas =
                        set[i].compare_exchange(w, tag | next, Ordering::AcqRel, Ordering::Relaxed);
                    if cas.is_ok() {
                        return Ok(b.wait(next, now));
                    }
                }
            }
        }
        Ok(0)
    }
}

/// A compiled `rateLimit`.
#[derive(Debug)]
pub struct RateLimit {
    /// `None`: average 0, no limit.
    pub bucket: Option<Bucket>,
    pub source: Source,
    /// Shared by every worker; carried over a reload that keeps the definition.
    pub table: Arc<RateTable>,
    /// `redis`: the buckets live in Redis instead (`limits/redis.rs`); `None`
    /// there too when there is no limit.
    pub redis: Option<Box<super::RedisRate>>,
    /// Whether `redis` was configured (with or without a limit).
    pub uses_redis: bool,
}

impl RateLimit {
    /// Whether the request phase must stop here for a call to Redis.
    pub fn needs_call(&self) -> bool {
        self.redis.is_some()
    }

    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        if self.uses_redis {
            // No limit (average 0): Traefik does not ask the store either.
            return Flow::Next;
        }
        let Some(b) = &self.bucket else {
            return Flow::Next;
        };
        let hash = self.source.hash(req, &self.table.seed);
        match self.table.take(b, hash, || b.now(self.table.epoch)) {
            Ok(0) => Flow::Next,
            Ok(wait) => {
                // The place is set by `middleware::on_request`.
                edits.delay(b.to_duration(wait));
                Flow::Call(At::default())
            }
            Err(wait) => {
                refuse(b.to_duration(wait), edits);
                Flow::Answer
            }
        }
    }
}

/// Traefik's body for a request whose client left during the hold
/// (`http.Error(rw, "context canceled", 500)`).
pub const CLIENT_LEFT: &[u8] = b"context canceled\n";

/// Holds a request whose token is due in `delay` (Traefik's `time.After`
/// before the next handler), on the worker's timer: other connections and
/// streams go on meanwhile. Boxed: monoio's timer is large and only a held
/// request needs one, not every connection's future.
///
/// `gone` resolves when the client leaves (the HTTP/1.1 connection closed or
/// reset, the HTTP/2 stream reset): as Traefik on `req.Context().Done()`, the
/// wait ends at once and the request gets `500 context canceled` (which no
/// one reads, but the access log and the metrics count) instead of going on,
/// so it is never forwarded. The token stays taken, as in Traefik (its
/// reservation is cancelled only when refused).
pub async fn hold<G: Future<Output = ()>>(
    delay: Duration,
    name: &str,
    edits: &mut Edits,
    gone: impl FnOnce() -> G,
) -> Flow {
    if delay.is_zero() {
        return Flow::Next;
    }
    let due = monoio::select! {
        biased;
        _ = Box::pin(monoio::time::sleep(delay)) => true,
        _ = gone() => false,
    };
    if due {
        return Flow::Next;
    }
    log::debug!("rateLimit {name}: the client left during the wait for its token: 500");
    edits.response_header(HeaderOp::Set, b"X-Content-Type-Options", b"nosniff");
    edits.answer(500, CLIENT_LEFT);
    Flow::Answer
}

/// Traefik's 429 for a token due in `delay`: `Retry-After` (whole seconds,
/// rounded up), `X-Retry-In` (Go's duration text) and `Too Many Requests`.
pub(super) fn refuse(delay: Duration, edits: &mut Edits) {
    let mut buf = [0u8; 40];
    let secs = delay.as_nanos().div_ceil(1_000_000_000);
    edits.response_header(
        HeaderOp::Set,
        b"Retry-After",
        fmt(&mut buf, format_args!("{secs}")),
    );
    let text = super::go_duration::GoDuration(delay);
    edits.response_header(
        HeaderOp::Set,
        b"X-Retry-In",
        fmt(&mut buf, format_args!("{text}")),
    );
    edits.answer(429, b"Too Many Requests");
}

/// Formats into a stack buffer (no allocation on the refusal path).
fn fmt<'a>(buf: &'a mut [u8; 40], args: std::fmt::Arguments<'_>) -> &'a [u8] {
    use std::io::Write;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = cur.write_fmt(args);
    let n = cur.position() as usize;
    &buf[..n]
}
