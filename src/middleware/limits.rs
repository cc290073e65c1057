//! `rateLimit` and `inFlightReq`: limits per traffic source that hold for the
//! whole process, not per worker (SO_REUSEPORT spreads one client's
//! connections over every worker, so a per-worker count would let N× through).
//!
//! Each middleware owns one fixed-size table of atomics ([`RateTable`],
//! [`InFlightTable`]) shared by every worker through the snapshot (`Arc`), and
//! carried over a reload that keeps the middleware's definition
//! (`config::carry_limits`). A request hashes its source key (client address,
//! a header or the host, per `sourceCriterion`) with the table's random seed,
//! and updates one 64-bit word with compare-exchange: no lock, no hand-off.
//!
//! With `rateLimit.redis` the buckets live in Redis instead, shared by every
//! node (`redis.rs`).
//!
//! Layout: 65,536 words (512 KiB) per middleware, in sets of 8 words (one cache
//! line); a source lives in one set, named by 16 (rate) or 32 (in-flight) bits
//! of its hash. Two sources with the same set and tag share their budget
//! (rare: about 1 in 8,000 (rate) per pair of active sources in one set).

mod go_duration;
mod in_flight;
mod rate;
pub mod redis;
mod source;

pub use in_flight::{Acquire, Held, InFlightGuard, InFlightReq, InFlightTable};
pub use rate::{Bucket, RateLimit, RateTable, Take, hold};
pub use redis::RedisRate;
pub use source::Source;

/// Words per table: Traefik keeps at most 65,536 sources per rate limiter.
pub const SLOTS: usize = 1 << 16;
/// Words per set: one 64-byte cache line.
const WAYS: usize = 8;

/// The first word of the set a hash falls in.
fn set_of(hash: u64) -> usize {
    ((hash as usize) & (SLOTS / WAYS - 1)) * WAYS
}

fn table(n: usize) -> Box<[std::sync::atomic::AtomicU64]> {
    (0..n)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect()
}

#[cfg(test)]
#[path = "limits/tests.rs"]
mod tests;
