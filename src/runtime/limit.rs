//! Limits shared by every worker and rate-limited log lines: an entry point's
//! `maxConnections` count (one atomic add per admitted connection, never per
//! request) and a log line that says how many like it were left out.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A rate-limited log line is written at most this often.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// One entry point's `maxConnections`, shared by every worker: one atomic add when
/// a connection is admitted and one subtract when it closes, never per request.
#[derive(Debug)]
pub struct Limit {
    max: usize,
    open: AtomicUsize,
}

impl Limit {
    /// `None` for 0 (unlimited): such entry points pay no atomic at all.
    pub fn new(max: usize) -> Option<Limit> {
        (max > 0).then(|| Limit {
            max,
            open: AtomicUsize::new(0),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn acquire(&self) -> bool {
        // Relaxed: the count guards no other memory, only itself.
        if self.open.fetch_add(1, Ordering::Relaxed) < self.max {
            return true;
        }
        self.release();
        false
    }

    pub(crate) fn release(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One log line per `LOG_EVERY`; the lines in between are counted, and the next
/// line says how many were left out.
#[derive(Default)]
pub struct RateLog {
    last: Cell<Option<Instant>>,
    suppressed: Cell<u64>,
}

impl RateLog {
    /// `Some(left out since the last line)` when a line may be written now.
    pub fn allow(&self, now: Instant) -> Option<u64> {
        if self.last.get().is_some_and(|t| now < t + LOG_EVERY) {
            self.suppressed.set(self.suppressed.get() + 1);
            return None;
        }
        self.last.set(Some(now));
        Some(self.suppressed.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_admits_up_to_max_and_frees_on_release() {
        assert!(Limit::new(0).is_none(), "0 is unlimited");
        let l = Limit::new(2).unwrap();
        assert!(l.acquire() && l.acquire());
        assert!(!l.acquire(), "third over the limit");
        assert_eq!(
            l.open.load(Ordering::Relaxed),
            2,
            "a refusal leaves no trace"
        );
        l.release();
        assert!(l.acquire());
    }

    #[test]
    fn rate_log_allows_one_line_a_second_and_counts_the_rest() {
        let log = RateLog::default();
        let t0 = Instant::now();
        assert_eq!(log.allow(t0), Some(0));
        for i in 1..=100 {
            assert_eq!(log.allow(t0 + Duration::from_millis(i * 9)), None);
        }
        assert_eq!(log.allow(t0 + LOG_EVERY), Some(100));
        assert_eq!(log.allow(t0 + LOG_EVERY), None);
    }
}
