//! `circuitBreaker`: oxy's breaker (`vulcand/oxy/cbreaker`), as Traefik runs
//! it, for the whole process. States: standby (closed: requests pass and are
//! measured), tripped (open: every request gets `responseCode` until
//! `fallbackDuration` has passed), recovering (a growing share of requests
//! passes, from 0 to half of them over `recoveryDuration`, then standby).
//! The condition is evaluated after a response, at most once per
//! `checkPeriod`, by whichever worker's compare-exchange of the next check
//! time succeeds; tripping resets the measurements.
//!
//! Everything is atomics in one `Arc<Breaker>` that every worker's snapshot
//! shares and a reload keeping the definition carries over: no lock and no
//! hand-off on the request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

pub mod expr;
pub mod metrics;

use super::{Edits, Flow};

/// Traefik's defaults (`CircuitBreaker.SetDefaults`).
pub const DEFAULT_CHECK_PERIOD: Duration = Duration::from_millis(100);
pub const DEFAULT_FALLBACK_DURATION: Duration = Duration::from_secs(10);
pub const DEFAULT_RECOVERY_DURATION: Duration = Duration::from_secs(10);
pub const DEFAULT_RESPONSE_CODE: u16 = 503;

const STANDBY: u8 = 0;
const TRIPPED: u8 = 1;
const RECOVERING: u8 = 2;

/// A compiled `circuitBreaker`: its definition and its state, shared.
#[derive(Debug)]
pub struct CircuitBreaker(pub Arc<Breaker>);

#[derive(Debug)]
pub struct Breaker {
    pub expression: expr::Expr,
    pub check_period: Duration,
    pub fallback_duration: Duration,
    pub recovery_duration: Duration,
    pub response_code: u16,
    /// Go's `StatusText(responseCode)`, the fallback's body.
    pub body: String,
    /// The breaker's clock starts here (times below are ms since).
    base: Instant,
    state: AtomicU8,
    until_ms: AtomicU64,
    next_check_ms: AtomicU64,
    recovery_start_ms: AtomicU64,
    allowed: AtomicU64,
    denied: AtomicU64,
    metrics: metrics::Metrics,
}

impl Breaker {
    pub fn new(
        expression: expr::Expr,
        check_period: Duration,
        fallback_duration: Duration,
        recovery_duration: Duration,
        response_code: u16,
    ) -> Breaker {
        Breaker {
            expression,
            check_period,
            fallback_duration,
            recovery_duration,
            response_code,
            body: super::status_text(response_code).unwrap_or("").to_string(),
            base: Instant::now(),
            state: AtomicU8::new(STANDBY),
            until_ms: AtomicU64::new(0),
            next_check_ms: AtomicU64::new(0),
            recovery_start_ms: AtomicU64::new(0),
            allowed: AtomicU64::new(0),
            denied: AtomicU64::new(0),
            metrics: Default::default(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// oxy's `activateFallback`: whether this request gets the fallback.
    fn blocks(&self) -> bool {
        let state = self.state.load(Relaxed);
        if state == STANDBY {
            return false;
        }
        let now = self.now_ms();
        if state == TRIPPED {
            let until = self.until_ms.load(Relaxed);
            if now < until {
                return true;
            }
            // The first worker here starts the recovery. The recovery's end
            // is stored first, so no worker sees "recovering" with the
            // tripped state's (past) end and skips straight to standby.
            self.recovery_start_ms.store(now, Relaxed);
            self.until_ms
                .store(now + self.recovery_duration.as_millis() as u64, Relaxed);
            if self
                .state
                .compare_exchange(TRIPPED, RECOVERING, Relaxed, Relaxed)
                .is_ok()
            {
                self.allowed.store(0, Relaxed);
                self.denied.store(0, Relaxed);
                log::info!("circuit breaker recovering");
            }
        }
        if now > self.until_ms.load(Relaxed) {
            if self
                .state
                .compare_exchange(RECOVERING, STANDBY, Relaxed, Relaxed)
                .is_ok()
            {
                log::info!("circuit breaker back to standby");
            }
            return false;
        }
        !self.allow_while_recovering(now)
    }

    /// oxy's `ratioController`: lets a request through while the share let
    /// through stays under a target growing from 0 to 0.5 over the recovery.
    fn allow_while_recovering(&self, now: u64) -> bool {
        let start = self.recovery_start_ms.load(Relaxed);
        let span = self.recovery_duration.as_millis().max(1) as f64;
        let target = 0.5 * now.saturating_sub(start) as f64 / span;
        let allowed = self.allowed.load(Relaxed);
        let denied = self.denied.load(Relaxed);
        let expected = (allowed + 1) as f64 / (allowed + 1 + denied) as f64;
        if expected < target {
            self.allowed.fetch_add(1, Relaxed);
            true
        } else {
            self.denied.fetch_add(1, Relaxed);
            false
        }
    }

    /// oxy's `serve` epilogue: measure the response, then `checkAndSet`.
    pub fn done(&self, status: u16, started: Instant) {
        let latency = started.elapsed();
        let now = self.now_ms();
        self.metrics.record(now / 1000, status, latency);
        let next = self.next_check_ms.load(Relaxed);
        if now < next {
            return;
        }
        let then = now + self.check_period.as_millis() as u64;
        // At most one evaluation per check period, by whoever wins this.
        if self
            .next_check_ms
            .compare_exchange(next, then, Relaxed, Relaxed)
            .is_err()
        {
            return;
        }
        if self.state.load(Relaxed) == TRIPPED {
            return;
        }
        if !self.expression.eval(&self.metrics.window(now / 1000)) {
            return;
        }
        self.until_ms
            .store(now + self.fallback_duration.as_millis() as u64, Relaxed);
        self.state.store(TRIPPED, Relaxed);
        self.metrics.reset();
        log::warn!("circuit breaker tripped");
    }
}

impl CircuitBreaker {
    pub fn apply(&self, edits: &mut Edits) -> Flow {
        let b = &self.0;
        if b.blocks() {
            edits.answer(b.response_code, b.body.as_bytes());
            return Flow::Answer;
        }
        edits.watch_breaker(self.0.clone());
        Flow::Next
    }
}
