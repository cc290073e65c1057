//! Passive health checks (`loadBalancer.passiveHealthCheck`): the compiled
//! settings and each server's failure record, shared by every worker as
//! atomics (no lock on the request path).
//!
//! Traefik's rule: a proxied request that never reached the server, or whose
//! answer is a 5xx, is a failure; any other answer clears the server's
//! failures. When `maxFailedAttempts` failures of one unbroken run fall within
//! `failureWindow`, the server is marked down. Without an active health check
//! it comes back once `failureWindow` has passed; with one, it stays down
//! until the next probe finds it healthy (the passive check only marks down).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::health_types::Health;

/// One load balancer's passive check: its settings and one record per server
/// (same indices as `servers`).
#[derive(Debug, Clone)]
pub struct PassiveCheck {
    pub failure_window: Duration,
    pub max_failed_attempts: u32,
    pub servers: Vec<Failures>,
}

/// Equal settings over the same records: a worker keeps its per-service state
/// only when the records it would read are the ones the others write.
impl PartialEq for PassiveCheck {
    fn eq(&self, other: &Self) -> bool {
        self.failure_window == other.failure_window
            && self.max_failed_attempts == other.max_failed_attempts
            && self.servers.len() == other.servers.len()
            && (self.servers.iter().zip(&other.servers)).all(|(a, b)| Arc::ptr_eq(&a.0, &b.0))
    }
}

/// A server's recent failures: the times of the last `maxFailedAttempts` of
/// the current run (a ring), the run's length, and until when it is held down.
#[derive(Debug, Clone)]
pub struct Failures(Arc<FailureState>);

#[derive(Debug)]
pub struct FailureState {
    ring: Box<[AtomicU64]>,
    run: AtomicU64,
    /// Milliseconds on [`now_ms`]; the server is down while this is ahead.
    down_until: AtomicU64,
}

impl Failures {
    pub fn new(max_failed_attempts: u32) -> Self {
        let ring = (0..max_failed_attempts.max(1)).map(|_| AtomicU64::new(0));
        Failures(Arc::new(FailureState {
            ring: ring.collect(),
            run: AtomicU64::new(0),
            down_until: AtomicU64::new(0),
        }))
    }

    /// Whether this record can serve a check of `max_failed_attempts`.
    pub fn fits(&self, max_failed_attempts: u32) -> bool {
        self.0.ring.len() == max_failed_attempts.max(1) as usize
    }

    /// Not held down by failures (an active check's verdict is separate).
    #[inline]
    pub fn is_up(&self) -> bool {
        let until = self.0.down_until.load(Ordering::Relaxed);
        until == 0 || until <= now_ms()
    }
}

impl PassiveCheck {
    /// Notes the outcome of one request to server `i`. A failure that
    /// completes `maxFailedAttempts` within the window marks it down: for
    /// `failureWindow` on its own record, or, with an active check, on the
    /// prober's flag (`health`) until a probe passes.
    pub fn note(&self, i: usize, failed: bool, health: &Health, active: bool, url: &str) {
        let f = &self.servers[i].0;
        if !failed {
            // Read first: a healthy server's record is then never written.
            if f.run.load(Ordering::Relaxed) != 0 {
                f.run.store(0, Ordering::Relaxed);
            }
            return;
        }
        let now = now_ms();
        let n = f.ring.len() as u64;
        let k = f.run.fetch_add(1, Ordering::Relaxed);
        f.ring[(k % n) as usize].store(now, Ordering::Relaxed);
        if k + 1 < n {
            return;
        }
        // The failure n-1 places back in this run.
        let oldest = f.ring[((k + 1) % n) as usize].load(Ordering::Relaxed);
        let window = self.failure_window.as_millis() as u64;
        if now.saturating_sub(oldest) >= window {
            return;
        }
        if active {
            if health.set(false) {
                log::warn!("server={url} DOWN: {n} failed attempts (passive health check)");
            }
            return;
        }
        // Already held down: the first trip's window stands, as Traefik's timer.
        let until = f.down_until.load(Ordering::Relaxed);
        if until > now {
            return;
        }
        let next = now + window.max(1);
        if f.down_until
            .compare_exchange(until, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            log::warn!(
                "server={url} DOWN for {:?}: {n} failed attempts (passive health check)",
                self.failure_window
            );
        }
    }
}

/// Milliseconds since the first call in this process, from 1: a shared time
/// base every worker can store in an atomic.
pub fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_millis() as u64 + 1
}
