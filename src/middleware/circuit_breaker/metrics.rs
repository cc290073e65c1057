//! What a breaker measures, for the whole process: oxy's `RTMetrics` over its
//! 10 s window (10 one-second buckets) — requests, network errors (502 and
//! 504, as oxy counts them), each status 100–599, and a latency histogram —
//! as atomics every worker adds to. A bucket belongs to one second; the
//! first worker to use it in a new second claims it (compare-exchange) and
//! zeroes it, so a few counts of that moment may be lost to the race: a
//! ratio over 10 s does not notice. Latencies go in log buckets, 8 per
//! doubling of microseconds (a quantile is read within 9%, where oxy's HDR
//! histogram has 3 digits).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Seconds in the window (oxy's `counterBuckets` × `counterResolution`).
const SECONDS: u64 = 10;
const FIRST_CODE: u16 = 100;
const CODES: usize = 500;
/// Latency buckets: 8 per doubling, up to 2^32 µs (71 minutes).
const STEPS: f64 = 8.0;
const LATENCIES: usize = 257;

struct Bucket {
    /// The second this bucket counts, plus one (0: never used, or reset).
    second: AtomicU64,
    total: AtomicU64,
    net_errors: AtomicU64,
    codes: Box<[AtomicU64]>,
    latencies: Box<[AtomicU64]>,
}

fn zeros(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Bucket {
    fn new() -> Bucket {
        Bucket {
            second: AtomicU64::new(0),
            total: AtomicU64::new(0),
            net_errors: AtomicU64::new(0),
            codes: zeros(CODES),
            latencies: zeros(LATENCIES),
        }
    }

    fn zero(&self) {
        for c in [&self.total, &self.net_errors]
            .into_iter()
            .chain(self.codes.iter())
            .chain(self.latencies.iter())
        {
            c.store(0, Relaxed);
        }
    }
}

/// The rolling window of one breaker.
pub struct Metrics {
    buckets: Box<[Bucket]>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            buckets: (0..SECONDS).map(|_| Bucket::new()).collect(),
        }
    }
}

impl Metrics {
    /// Counts one response at second `now_s` (of the breaker's clock).
    pub fn record(&self, now_s: u64, status: u16, latency: Duration) {
        let b = &self.buckets[(now_s % SECONDS) as usize];
        let tag = now_s + 1;
        let seen = b.second.load(Relaxed);
        if seen != tag
            && b.second
                .compare_exchange(seen, tag, Relaxed, Relaxed)
                .is_ok()
        {
            b.zero();
        }
        b.total.fetch_add(1, Relaxed);
        if status == 502 || status == 504 {
            b.net_errors.fetch_add(1, Relaxed);
        }
        if let Some(c) = status
            .checked_sub(FIRST_CODE)
            .and_then(|i| b.codes.get(i as usize))
        {
            c.fetch_add(1, Relaxed);
        }
        b.latencies[latency_bucket(latency)].fetch_add(1, Relaxed);
    }

    /// Forgets everything (oxy resets its metrics when the breaker trips).
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.second.store(0, Relaxed);
        }
    }

    /// The window as seen at second `now_s`.
    pub fn window(&self, now_s: u64) -> Window<'_> {
        Window { m: self, now_s }
    }
}

fn latency_bucket(d: Duration) -> usize {
    let us = d.as_micros().max(1) as f64;
    ((us.log2() * STEPS) as usize + 1).min(LATENCIES - 1)
}

/// The latency bucket `i` stands for, in whole milliseconds (its top).
fn bucket_ms(i: usize) -> u64 {
    if i == 0 {
        return 0;
    }
    (2f64.powf(i as f64 / STEPS) / 1000.0) as u64
}

/// The buckets of the last 10 seconds.
pub struct Window<'a> {
    m: &'a Metrics,
    now_s: u64,
}

impl Window<'_> {
    fn live(&self) -> impl Iterator<Item = &Bucket> {
        let now = self.now_s;
        self.m.buckets.iter().filter(move |b| {
            let tag = b.second.load(Relaxed);
            tag != 0 && tag - 1 + SECONDS > now && tag - 1 <= now
        })
    }

    fn sum(&self, f: impl Fn(&Bucket) -> u64) -> u64 {
        self.live().map(f).sum()
    }

    pub fn total(&self) -> u64 {
        self.sum(|b| b.total.load(Relaxed))
    }

    /// 502s and 504s over all requests; 0 without requests.
    pub fn network_error_ratio(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            t => self.sum(|b| b.net_errors.load(Relaxed)) as f64 / t as f64,
        }
    }

    /// Responses with a status in [a, b) over those in [c, d); 0 when none
    /// are in [c, d).
    pub fn response_code_ratio(&self, a: u16, b: u16, c: u16, d: u16) -> f64 {
        let count = |from: u16, to: u16| {
            self.sum(|bk| {
                (from.max(FIRST_CODE)..to.min(FIRST_CODE + CODES as u16))
                    .map(|s| bk.codes[(s - FIRST_CODE) as usize].load(Relaxed))
                    .sum()
            })
        };
        match count(c, d) {
            0 => 0.0,
            n => count(a, b) as f64 / n as f64,
        }
    }

    /// The latency at quantile `q` (percent), in milliseconds.
    pub fn latency_at_quantile_ms(&self, q: f64) -> u64 {
        let mut counts = vec![0u64; LATENCIES];
        for b in self.live() {
            for (c, l) in counts.iter_mut().zip(b.latencies.iter()) {
                *c += l.load(Relaxed);
            }
        }
        let n: u64 = counts.iter().sum();
        if n == 0 {
            return 0;
        }
        let want = ((q.clamp(0.0, 100.0) / 100.0) * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return bucket_ms(i);
            }
        }
        bucket_ms(LATENCIES - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_quantiles_over_the_window() {
        let m = Metrics::default();
        for s in [200, 200, 502, 504, 500] {
            m.record(3, s, Duration::from_millis(10));
        }
        m.record(4, 200, Duration::from_millis(1000));
        let w = m.window(5);
        assert_eq!(w.total(), 6);
        assert!((w.network_error_ratio() - 2.0 / 6.0).abs() < 1e-9);
        assert!((w.response_code_ratio(500, 600, 0, 600) - 0.5).abs() < 1e-9);
        let p50 = w.latency_at_quantile_ms(50.0);
        assert!((9..=11).contains(&p50), "{p50}");
        let p100 = w.latency_at_quantile_ms(100.0);
        assert!((920..=1090).contains(&p100), "{p100}");
        // Ten seconds later the window is empty; a reset empties it at once.
        assert_eq!(m.window(14).total(), 0);
        m.reset();
        assert_eq!(m.window(5).total(), 0);
    }
}
