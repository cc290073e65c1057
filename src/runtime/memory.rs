//! Gives heap memory back to the OS after a wave of connections went quiet or
//! closed. glibc keeps freed chunks resident: after 9,000 clients were served in
//! bursts and then parked, about 14 MiB of their request state stayed in the
//! worker's arena as free chunks between live ones (1.5 KiB per idle connection,
//! measured with `malloc_stats`). `malloc_trim(0)` returns every whole free page of
//! every arena (`madvise(MADV_DONTNEED)`), which is what an operator reading RSS
//! expects after the burst is over.
//!
//! It walks and locks each arena in turn (about 1 ms for 14 MiB returned), so it
//! runs rarely: once at least [`MIN_RELEASED`] connections were released and then
//! none for [`QUIET`] (so at most once per quiet spell), or once per
//! [`MIN_INTERVAL`] during a wave that goes on. Steady keep-alive traffic
//! releases nothing and never trims.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Fewer released connections than this are not worth a trim.
const MIN_RELEASED: usize = 256;
/// No release for this long: the wave is over.
const QUIET: Duration = Duration::from_millis(200);
/// A wave that goes on this long (in released connections) is trimmed anyway.
const LONG_WAVE: usize = 8192;
/// During a long wave, at most one trim per worker per this interval.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub struct Trimmer {
    released: Cell<usize>,
    last_release: Cell<Instant>,
    last_trim: Cell<Instant>,
}

impl Trimmer {
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            released: Cell::new(0),
            last_release: Cell::new(now),
            last_trim: Cell::new(now),
        }
    }

    /// A connection parked or closed: its request state went back to the heap.
    pub fn released(&self) {
        self.released.set(self.released.get() + 1);
        self.last_release.set(Instant::now());
    }

    /// Whether a trim is due at `now` (the worker's housekeeping tick).
    fn due(&self, now: Instant) -> bool {
        let n = self.released.get();
        let quiet = now.duration_since(self.last_release.get()) >= QUIET;
        let long_wave = n >= LONG_WAVE && now.duration_since(self.last_trim.get()) >= MIN_INTERVAL;
        n >= MIN_RELEASED && (quiet || long_wave)
    }

    pub fn tick(&self, now: Instant) {
        if !self.due(now) {
            return;
        }
        self.released.set(0);
        self.last_trim.set(now);
        trim();
        log::debug!("heap trimmed in {:?}", now.elapsed());
    }
}

impl Default for Trimmer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_env = "gnu")]
fn trim() {
    // SAFETY: glibc's malloc_trim takes no pointers and is thread-safe.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(target_env = "gnu"))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn released(t: &Trimmer, n: usize, at: Instant) {
        t.released.set(t.released.get() + n);
        t.last_release.set(at);
    }

    #[test]
    fn trims_once_a_wave_is_over_and_not_before() {
        let t = Trimmer::new();
        let start = t.last_trim.get();
        released(&t, MIN_RELEASED, start + MIN_INTERVAL);
        assert!(!t.due(start + MIN_INTERVAL), "the wave is still going");
        assert!(t.due(start + MIN_INTERVAL + QUIET));
        t.tick(start + MIN_INTERVAL + QUIET);
        assert_eq!(t.released.get(), 0);
        assert!(!t.due(start + MIN_INTERVAL * 5), "nothing released since");
    }

    #[test]
    fn small_waves_and_steady_traffic_never_trim() {
        let t = Trimmer::new();
        let start = t.last_trim.get();
        released(&t, MIN_RELEASED - 1, start);
        assert!(!t.due(start + Duration::from_secs(60)));
    }

    #[test]
    fn a_long_wave_is_trimmed_at_most_once_per_interval() {
        let t = Trimmer::new();
        let start = t.last_trim.get();
        released(&t, LONG_WAVE, start + MIN_INTERVAL / 2);
        assert!(
            !t.due(start + MIN_INTERVAL / 2),
            "too soon after the last trim"
        );
        assert!(t.due(start + MIN_INTERVAL));
    }
}
