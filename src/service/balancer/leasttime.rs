//! Traefik's `leasttime` strategy on one worker: each server's score is its
//! average time to the first response byte (whole milliseconds, over its last
//! `SAMPLES` answers) times one plus its requests in flight, divided by its
//! weight; the lowest score wins. Servers tied on the lowest score (every
//! server before it has answered, or all answering in under a millisecond)
//! are taken in weighted turns, earliest deadline first. A server with weight
//! 0 is never picked.

use std::cell::{Cell, RefCell};
use std::time::Instant;

/// Answers averaged per server (Traefik's ring of 100).
const SAMPLES: usize = 100;

pub struct LeastTime {
    pub(super) servers: Vec<Timed>,
    /// Reused list of the servers tied on the lowest score.
    tied: RefCell<Vec<usize>>,
}

pub(super) struct Timed {
    weight: f64,
    pub(super) inflight: Cell<u32>,
    deadline: Cell<f64>,
    times: RefCell<Ring>,
}

/// The last `SAMPLES` times to first byte, in whole milliseconds.
struct Ring {
    ms: [f64; SAMPLES],
    next: usize,
    len: usize,
    sum: f64,
}

impl Ring {
    fn push(&mut self, ms: f64) {
        if self.len < SAMPLES {
            self.len += 1;
        } else {
            self.sum -= self.ms[self.next];
        }
        self.ms[self.next] = ms;
        self.sum += ms;
        self.next = (self.next + 1) % SAMPLES;
    }

    /// 0 before the first answer, as Traefik: a new server is tried at once.
    fn average(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.sum / self.len as f64
        }
    }
}

impl LeastTime {
    pub fn new(weights: impl Iterator<Item = u32>) -> LeastTime {
        // Each server starts one turn (1/weight) after the one before it, so
        // the first requests do not all go to one server.
        let mut last = 0.0;
        let servers = weights
            .map(|w| {
                let weight = f64::from(w);
                if w > 0 {
                    last += 1.0 / weight;
                }
                Timed {
                    weight,
                    inflight: Cell::new(0),
                    deadline: Cell::new(last),
                    times: RefCell::new(Ring {
                        ms: [0.0; SAMPLES],
                        next: 0,
                        len: 0,
                        sum: 0.0,
                    }),
                }
            })
            .collect::<Vec<_>>();
        let tied = RefCell::new(Vec::with_capacity(servers.len()));
        LeastTime { servers, tied }
    }

    pub fn pick(&self, up: impl Fn(usize) -> bool) -> Option<usize> {
        let mut tied = self.tied.borrow_mut();
        tied.clear();
        let mut best = f64::MAX;
        for (i, s) in self.servers.iter().enumerate() {
            if s.weight <= 0.0 || !up(i) {
                continue;
            }
            let busy = 1.0 + f64::from(s.inflight.get());
            let score = s.times.borrow().average() * busy / s.weight;
            if score < best {
                best = score;
                tied.clear();
            }
            if score == best {
                tied.push(i);
            }
        }
        match tied.len() {
            0 => None,
            1 => Some(tied[0]),
            _ => Some(self.turn(&tied)),
        }
    }

    /// Earliest deadline first among `tied` (the first on equal deadlines);
    /// the winner's next turn is 1/weight later.
    fn turn(&self, tied: &[usize]) -> usize {
        let mut chosen = tied[0];
        let mut earliest = f64::MAX;
        for &i in tied {
            let d = self.servers[i].deadline.get();
            if d < earliest {
                earliest = d;
                chosen = i;
            }
        }
        let s = &self.servers[chosen];
        let next = earliest + 1.0 / s.weight;
        s.deadline.set(next);
        chosen
    }

    /// Server `index` answered its first byte `since` its pick.
    pub fn answered(&self, index: usize, since: Instant) {
        // Whole milliseconds, as Traefik measures.
        let ms = since.elapsed().as_millis() as f64;
        self.servers[index].times.borrow_mut().push(ms);
    }
}
