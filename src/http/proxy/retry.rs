//! The attempts a `retry` middleware allows one request: how many are left,
//! and the backoff between them, waited on the worker's clock (a timer entry,
//! never a blocking sleep).

use std::time::Instant;

use crate::middleware::{Backoff, Retry};

pub(super) struct Tries {
    /// Attempts left after the current one.
    left: u32,
    policy: Option<Retry>,
    /// Made at the first retry, so a request that needs none pays nothing.
    backoff: Option<Backoff>,
    /// Attempts made so far, the current one included.
    made: u32,
    /// When the first attempt began (`timeout` counts from it).
    start: Instant,
}

impl Tries {
    pub(super) fn new(policy: Option<Retry>) -> Tries {
        Tries {
            left: policy.map_or(0, |r| r.attempts.saturating_sub(1)),
            policy,
            backoff: None,
            made: 1,
            start: Instant::now(),
        }
    }

    /// Whether another attempt may follow the current one: attempts are
    /// left and, as Traefik checks it when an attempt ends, `timeout` has
    /// not passed since the first began.
    pub(super) fn more(&self) -> bool {
        let timed_out = (self.policy)
            .and_then(|p| p.timeout)
            .is_some_and(|t| self.start.elapsed() >= t);
        self.left > 0 && !timed_out
    }

    /// Attempts made so far (`buffering`'s `Attempts()`).
    pub(super) fn made(&self) -> u32 {
        self.made
    }

    /// Uses up one attempt and waits the backoff before it.
    pub(super) async fn wait(&mut self) {
        self.left = self.left.saturating_sub(1);
        self.made = self.made.saturating_add(1);
        let Some(policy) = self.policy else { return };
        let backoff = self.backoff.get_or_insert_with(|| policy.backoff(seed()));
        let wait = backoff.next_wait();
        if !wait.is_zero() {
            crate::runtime::clock::deadline(Instant::now() + wait).await;
        }
    }
}

/// Spread for the backoff's randomization: the clock's low bits.
fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}
