//! `retry`: sends a request again, to the balancer's next pick, when an attempt
//! failed before the upstream said anything, or (`status`) when the upstream
//! answered with a status in the configured ranges. The request phase only
//! records the policy in [`Edits`]; forwarding (`http::proxy`) runs the
//! attempts, keeps the body for them (`http::server::buffered`) and judges each
//! answer's head before the client sees it, and `http::error::retry` decides,
//! from the error and how far the attempt got, whether one more is allowed.
//! Between attempts forwarding waits on the worker's clock for
//! [`Backoff::next_wait`].
//!
//! The backoff is Traefik's (cenkalti/backoff's exponential backoff): the
//! first wait is `initialInterval`, each next one grows by a multiplier chosen
//! so that the last is about twice the first (`2^(1/(attempts-1))`), and each
//! is randomized by ±50%. No `initialInterval` means no wait.

use std::time::Duration;

use super::{Edits, Flow};
use crate::middleware::status_set::StatusSet;

/// Traefik's `RetryDefaultMaxRequestBodyBytes`: a body up to 2 MiB is kept
/// for a status retry; a larger one is forwarded without it.
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: u64 = 2 * 1024 * 1024;

/// Traefik's exponential backoff randomizes each wait by this factor.
const RANDOMIZATION: f64 = 0.5;
/// And caps the growing interval here.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// What the request phase records for forwarding: the compiled middleware
/// itself is small and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The first wait; zero retries at once.
    pub initial_interval: Duration,
    /// `timeout`: once this long has passed since the first attempt began,
    /// an attempt's failure goes to the client (no more attempts).
    pub timeout: Option<Duration>,
    /// `status`: answers with these statuses are discarded and the request
    /// sent again (empty: only network errors are retried).
    pub status: StatusSet,
    /// `maxRequestBodyBytes`: a body larger than this is not kept, so the
    /// request is not retried on a status. `None`: no limit (Traefik's -1).
    pub max_request_body_bytes: Option<u64>,
    /// `disableRetryOnNetworkError`: a request that never reached a server
    /// (or lost its connection before any answer) is not sent again.
    pub disable_retry_on_network_error: bool,
    /// `retryNonIdempotentMethod`: POST, PATCH and LOCK are retried on a
    /// status too.
    pub retry_non_idempotent_method: bool,
}

impl Retry {
    /// Whether answers with a status are judged for this request: `status`
    /// is set and, unless `retryNonIdempotentMethod`, the method is not one
    /// Traefik calls non-idempotent (POST, PATCH, LOCK; every other method,
    /// PUT and DELETE included, is retried).
    pub fn on_status(&self, method: &[u8]) -> bool {
        let non_idempotent = matches!(method, b"POST" | b"PATCH" | b"LOCK");
        self.attempts > 1
            && !self.status.is_empty()
            && (self.retry_non_idempotent_method || !non_idempotent)
    }

    /// Retry wraps what follows it in the chain; the request phases of the
    /// later middlewares do not depend on the attempt, so recording the policy
    /// is all there is to do here. With two retry middlewares in one chain the
    /// first (outermost) one counts.
    pub fn apply(&self, edits: &mut Edits) -> Flow {
        if edits.retry().is_none() {
            edits.set_retry(*self);
        }
        Flow::Next
    }

    /// The waits between this request's attempts.
    pub fn backoff(&self, seed: u64) -> Backoff {
        let multiplier = match self.attempts {
            0..=1 => 1.0,
            n => 2f64.powf(1.0 / f64::from(n - 1)),
        };
        Backoff {
            current: self.initial_interval.as_secs_f64(),
            multiplier,
            rng: seed | 1,
        }
    }
}

/// The state of one request's backoff.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The interval the next wait is drawn around, in seconds.
    current: f64,
    multiplier: f64,
    /// xorshift64 state: waits need spread, not strong randomness.
    rng: u64,
}

impl Backoff {
    /// The next wait: `current` ±50%, after which `current` grows.
    pub fn next_wait(&mut self) -> Duration {
        if self.current <= 0.0 {
            return Duration::ZERO;
        }
        let delta = RANDOMIZATION * self.current;
        let wait = self.current - delta + self.uniform() * 2.0 * delta;
        self.current = (self.current * self.multiplier).min(MAX_INTERVAL.as_secs_f64());
        Duration::from_secs_f64(wait)
    }

    /// A number in [0, 1).
    fn uniform(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Retry {
        Retry {
            attempts: 3,
            initial_interval: Duration::ZERO,
            timeout: None,
            status: StatusSet::default(),
            max_request_body_bytes: Some(DEFAULT_MAX_REQUEST_BODY_BYTES),
            disable_retry_on_network_error: false,
            retry_non_idempotent_method: false,
        }
    }

    #[test]
    fn status_retry_skips_post_patch_lock_unless_asked_as_traefik_does() {
        let mut r = Retry {
            status: StatusSet::parse(&["500-599".into()]).unwrap(),
            ..plain()
        };
        for m in ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PROPFIND"] {
            assert!(r.on_status(m.as_bytes()), "{m}");
        }
        for m in ["POST", "PATCH", "LOCK"] {
            assert!(!r.on_status(m.as_bytes()), "{m}");
        }
        r.retry_non_idempotent_method = true;
        assert!(r.on_status(b"POST"));
        r.attempts = 1;
        assert!(!r.on_status(b"GET"), "one attempt: nothing to retry");
        let none = Retry { ..plain() };
        assert!(!none.on_status(b"GET"), "no status: network errors only");
    }

    #[test]
    fn waits_grow_to_about_twice_the_first_within_the_randomization() {
        let r = Retry {
            attempts: 5,
            initial_interval: Duration::from_millis(100),
            ..plain()
        };
        let mut b = r.backoff(42);
        // Four waits between five attempts: centres 100, 119, 141, 168 ms.
        for centre in [100.0, 118.9, 141.4, 168.2] {
            let w = b.next_wait().as_secs_f64() * 1000.0;
            assert!(
                w >= centre * 0.5 - 0.1 && w <= centre * 1.5 + 0.1,
                "{w} vs {centre}"
            );
        }
    }

    #[test]
    fn no_initial_interval_means_no_wait() {
        let r = Retry {
            attempts: 3,
            ..plain()
        };
        let mut b = r.backoff(7);
        assert_eq!(b.next_wait(), Duration::ZERO);
        assert_eq!(b.next_wait(), Duration::ZERO);
    }
}
