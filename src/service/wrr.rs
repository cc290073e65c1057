//! Smooth weighted round robin (nginx's algorithm), one instance per service per
//! worker: over any window of `sum(weights)` picks each server appears exactly
//! `weight` times, interleaved rather than in bursts.

#[derive(Debug, Clone)]
pub struct Wrr {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl Wrr {
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let weights: Vec<i64> = weights.into_iter().map(i64::from).collect();
        Self {
            total: weights.iter().sum(),
            current: vec![0; weights.len()],
            weights,
        }
    }

    /// Index of the next server, or None when no server has a positive weight.
    pub fn pick(&mut self) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let mut best = 0;
        for i in 0..self.weights.len() {
            self.current[i] += self.weights[i];
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
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
}
