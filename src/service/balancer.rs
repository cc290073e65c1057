//! A load-balanced service's server pick on one worker, by the service's
//! `strategy` (Traefik v3): `wrr` (smooth weighted round robin, the default),
//! `p2c` (power of two choices: of two servers drawn at random, the one with
//! fewer requests in flight) and `hrw` (highest random weight: the client
//! address hashed with each server's name, the best weighted score wins, so a
//! client keeps its server while the set of servers up does not change) and
//! `leasttime` (lowest average time to first byte times requests in flight,
//! `leasttime`). Servers that are down are never picked.
//!
//! Everything here is per worker, as the rest of a worker's state: p2c counts
//! the requests in flight on this worker (no atomic shared with other cores),
//! which balances each worker's share as Traefik's process-wide count balances
//! its one process; leasttime's times and counts are this worker's too.

use crate::config::{LoadBalancer, Strategy};
use std::cell::{Cell, RefCell};
use std::time::Instant;

use super::wrr::Wrr;

mod leasttime;

use leasttime::LeastTime;

pub enum Balancer {
    Wrr(RefCell<Wrr>),
    P2c(P2c),
    Hrw,
    LeastTime(LeastTime),
}

impl Balancer {
    pub fn new(lb: &LoadBalancer) -> Balancer {
        match lb.strategy {
            Strategy::Wrr => {
                Balancer::Wrr(RefCell::new(Wrr::new(lb.servers.iter().map(|s| s.weight))))
            }
            Strategy::P2c => Balancer::P2c(P2c::new(lb.servers.len())),
            Strategy::Hrw => Balancer::Hrw,
            Strategy::LeastTime => {
                Balancer::LeastTime(LeastTime::new(lb.servers.iter().map(|s| s.weight)))
            }
        }
    }

    /// The server for a request from `client`, among those `up` (and, for
    /// wrr and hrw, with a positive weight); `None`: no server can take it.
    /// The pick holds its server's in-flight count until dropped.
    pub fn pick<'a>(
        &'a self,
        lb: &LoadBalancer,
        client: &str,
        up: impl Fn(usize) -> bool,
    ) -> Option<Picked<'a>> {
        let index = match self {
            Balancer::Wrr(wrr) => wrr.borrow_mut().pick_up(up)?,
            Balancer::P2c(p2c) => p2c.pick(up)?,
            Balancer::Hrw => hrw(lb, client, up)?,
            Balancer::LeastTime(lt) => lt.pick(up)?,
        };
        Some(self.pin(index))
    }

    /// Server `index` (a sticky cookie named it), counted as p2c and
    /// leasttime count a pick.
    pub fn pin(&self, index: usize) -> Picked<'_> {
        let (inflight, timed) = match self {
            Balancer::P2c(p2c) => (Some(&p2c.inflight[index]), None),
            Balancer::LeastTime(lt) => (
                Some(&lt.servers[index].inflight),
                Some((lt, Instant::now())),
            ),
            _ => (None, None),
        };
        if let Some(n) = inflight {
            n.set(n.get() + 1);
        }
        Picked {
            index,
            inflight,
            timed,
        }
    }
}

/// A picked server; p2c and leasttime count it as busy until this is dropped.
pub struct Picked<'a> {
    pub index: usize,
    inflight: Option<&'a Cell<u32>>,
    /// leasttime: where to note the time to first byte, from when.
    timed: Option<(&'a LeastTime, Instant)>,
}

impl Picked<'_> {
    /// The server's response head arrived: leasttime notes the time since
    /// the pick (dial included, as Traefik's time to first byte).
    pub fn first_byte(&self) {
        if let Some((lt, since)) = self.timed {
            lt.answered(self.index, since);
        }
    }
}

impl Drop for Picked<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.inflight {
            n.set(n.get().saturating_sub(1));
        }
    }
}

pub struct P2c {
    inflight: Vec<Cell<u32>>,
    /// xorshift64 state: cheap, and per worker, so nothing is shared.
    rng: Cell<u64>,
    /// Reused list of the servers up.
    candidates: RefCell<Vec<usize>>,
}

impl P2c {
    fn new(servers: usize) -> P2c {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
            | 1;
        P2c {
            inflight: (0..servers).map(|_| Cell::new(0)).collect(),
            rng: Cell::new(seed),
            candidates: RefCell::new(Vec::with_capacity(servers)),
        }
    }

    fn next(&self, n: usize) -> usize {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        (x % n as u64) as usize
    }

    /// Two distinct servers up, drawn at random: the one with fewer requests
    /// in flight (the first on a tie), as Traefik's p2c. Weights play no part.
    fn pick(&self, up: impl Fn(usize) -> bool) -> Option<usize> {
        let mut candidates = self.candidates.borrow_mut();
        candidates.clear();
        candidates.extend((0..self.inflight.len()).filter(|&i| up(i)));
        match candidates.len() {
            0 => None,
            1 => Some(candidates[0]),
            n => {
                let a = self.next(n);
                let mut b = self.next(n);
                if b == a {
                    b = (b + 1) % n;
                }
                let (a, b) = (candidates[a], candidates[b]);
                let load = |i: usize| self.inflight[i].get();
                Some(if load(b) < load(a) { b } else { a })
            }
        }
    }
}

/// Traefik's highest random weight: FNV-1a 64 of the client address (its
/// text)
/// followed by the server's name (its URL), as a fraction of 2^64, scored
/// `weight / -ln(fraction)`; the highest score wins.
fn hrw(lb: &LoadBalancer, client: &str, up: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in lb.servers.iter().enumerate() {
        if s.weight == 0 || !up(i) {
            continue;
        }
        let score = score(client, &s.url, s.weight);
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

fn score(client: &str, server: &str, weight: u32) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in client.as_bytes().iter().chain(server.as_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let fraction = h as f64 / 2f64.powi(64);
    f64::from(weight) / -fraction.ln()
}

#[cfg(test)]
mod tests;
