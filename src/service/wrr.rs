//! Smooth weighted round robin (nginx's algorithm), one instance per service per
//! worker: over any window of `sum(weights)` picks each server appears exactly
//! `weight` times, interleaved rather than in bursts. Servers that are down are
//! skipped, as nginx skips them: the others keep their relative weights.

#[derive(Debug, Clone)]
pub struct Wrr {
    weights: Vec<i64>,
    current: Vec<i64>,
}

impl Wrr {
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let weights: Vec<i64> = weights.into_iter().map(i64::from).collect();
        Self {
            current: vec![0; weights.len()],
            weights,
        }
    }

    /// Index of the next server, or None when no server has a positive weight.
    pub fn pick(&mut self) -> Option<usize> {
        self.pick_up(|_| true)
    }

    /// Index of the next server for which `up` holds, or None when no such
    /// server has a positive weight. The total is that of the servers up now,
    /// so a server that is down takes no share and leaves no debt.
    #[inline]
    pub fn pick_up(&mut self, up: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut total = 0;
        for i in 0..self.weights.len() {
            if self.weights[i] == 0 || !up(i) {
                continue;
            }
            self.current[i] += self.weights[i];
            total += self.weights[i];
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let best = best?;
        self.current[best] -= total;
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrr_is_smooth_and_proportional() {
        let mut wrr = Wrr::new([5, 1, 1]);
        let picks: Vec<usize> = (0..7).map(|_| wrr.pick().unwrap()).collect();
        assert_eq!(picks, vec![0, 0, 1, 0, 2, 0, 0]);
        let mut counts = [0; 3];
        for _ in 0..700 {
            counts[wrr.pick().unwrap()] += 1;
        }
        assert_eq!(counts, [500, 100, 100]);
    }

    #[test]
    fn wrr_skips_zero_weights_and_reports_empty() {
        let mut wrr = Wrr::new([0, 2]);
        assert!((0..10).all(|_| wrr.pick() == Some(1)));
        assert_eq!(Wrr::new([0, 0]).pick(), None);
        assert_eq!(Wrr::new([]).pick(), None);
    }

    #[test]
    fn wrr_skips_servers_that_are_down_keeping_the_other_weights() {
        let mut wrr = Wrr::new([3, 1, 1]);
        let mut counts = [0; 3];
        for _ in 0..400 {
            counts[wrr.pick_up(|i| i != 0).unwrap()] += 1;
        }
        assert_eq!(counts, [0, 200, 200]);
        let mut counts = [0; 3];
        for _ in 0..400 {
            counts[wrr.pick_up(|i| i != 2).unwrap()] += 1;
        }
        assert_eq!(counts, [300, 100, 0]);
        assert_eq!(wrr.pick_up(|_| false), None);
        // Back up: the proportions are the configured ones again.
        let mut counts = [0i32; 3];
        for _ in 0..500 {
            counts[wrr.pick().unwrap()] += 1;
        }
        let want = [300, 100, 100];
        assert!(
            (0..3).all(|i| (counts[i] - want[i]).abs() <= 1),
            "{counts:?}"
        );
    }
}
