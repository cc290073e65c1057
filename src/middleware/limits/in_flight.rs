//! `inFlightReq`: at most `amount` requests per source in progress at once,
//! across every worker (Traefik's limiter, oxy's connlimit, answers 429 with
//! `max connections reached: <amount>`). One word per source: a 32-bit tag
//! and a 32-bit count; a word whose count is 0 is free for any source.
//!
//! The count is taken in the request phase and given back by dropping the
//! [`InFlightGuard`], which the request's `Edits` holds: when the request ends
//! (response sent, failed, client gone, panic) the connection clears them, and
//! a connection dropped mid-request drops them with it.

use std::collections::hash_map::RandomState;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{SLOTS, Source, WAYS, set_of, table};
use crate::middleware::{Edits, Flow, RequestInfo};

const COUNT_MASK: u64 = u32::MAX as u64;

/// One inFlightReq middleware's counts, shared by every worker.
#[derive(Debug)]
pub struct InFlightTable {
    words: Box<[AtomicU64]>,
    seed: RandomState,
}

impl Default for InFlightTable {
    fn default() -> InFlightTable {
        InFlightTable {
            words: table(SLOTS),
            seed: RandomState::new(),
        }
    }
}

/// What an acquire decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Acquire {
    /// Counted in this word.
    Counted(usize),
    /// The source's set is full of other sources in flight: admitted uncounted.
    Uncounted,
    Refused,
}

impl InFlightTable {
    pub fn acquire(&self, hash: u64, amount: u32) -> Acquire {
        if amount == 0 {
            return Acquire::Refused;
        }
        let base = set_of(hash);
        let tag = (hash >> 32) << 32;
        for _ in 0..8 {
            let mut free = None;
            let mut found = None;
            for i in base..base + WAYS {
                let w = self.words[i].load(Ordering::Relaxed);
                if w & COUNT_MASK == 0 {
                    // The first free word: two workers claiming for one new
                    // source pick the same one, and one of them loses.
                    free = free.or(Some((i, w)));
                } else if w & !COUNT_MASK == tag {
                    found = Some((i, w));
                    break;
                }
            }
            let (i, w, next) = match (found, free) {
                (Some((_, w)), _) if w & COUNT_MASK >= u64::from(amount) => {
                    return Acquire::Refused;
                }
                (Some((i, w)), _) => (i, w, w + 1),
                (None, Some((i, w))) => (i, w, tag | 1),
                (None, None) => return Acquire::Uncounted,
            };
            let cas = self.words[i].compare_exchange(w, next, Ordering::AcqRel, Ordering::Relaxed);
            if cas.is_ok() {
                return Acquire::Counted(i);
            }
        }
        Acquire::Uncounted
    }

    pub fn release(&self, slot: usize) {
        self.words[slot].fetch_sub(1, Ordering::AcqRel);
    }

    /// The count in flight for `hash` (tests, diagnostics).
    pub fn count(&self, hash: u64) -> u64 {
        let tag = (hash >> 32) << 32;
        let base = set_of(hash);
        self.words[base..base + WAYS]
            .iter()
            .map(|w| w.load(Ordering::Relaxed))
            .find(|w| w & COUNT_MASK != 0 && w & !COUNT_MASK == tag)
            .map_or(0, |w| w & COUNT_MASK)
    }
}

/// A request's place in an inFlightReq count; dropping it gives it back.
#[derive(Debug)]
pub struct InFlightGuard {
    table: Arc<InFlightTable>,
    slot: usize,
}

impl InFlightGuard {
    pub fn new(table: Arc<InFlightTable>, slot: usize) -> InFlightGuard {
        InFlightGuard { table, slot }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.table.release(self.slot);
    }
}

/// The places a request holds; a reused list (no allocation once warm).
#[derive(Debug, Default)]
pub struct Held(Vec<InFlightGuard>);

impl Held {
    pub fn push(&mut self, g: InFlightGuard) {
        self.0.push(g);
    }

    /// Gives every place back (the request ended).
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Moves the places out, to be held by what outlives the request (a tunnel).
    pub fn take(&mut self) -> Held {
        Held(std::mem::take(&mut self.0))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A compiled `inFlightReq`.
#[derive(Debug)]
pub struct InFlightReq {
    pub amount: u32,
    pub source: Source,
    /// Shared by every worker; carried over a reload that keeps the definition.
    pub table: Arc<InFlightTable>,
    /// `max connections reached: <amount>`, oxy's refusal text.
    pub body: String,
}

impl InFlightReq {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let hash = self.source.hash(req, &self.table.seed);
        match self.table.acquire(hash, self.amount) {
            Acquire::Counted(slot) => {
                edits.hold(InFlightGuard::new(self.table.clone(), slot));
                Flow::Next
            }
            Acquire::Uncounted => Flow::Next,
            Acquire::Refused => {
                edits.answer(429, self.body.as_bytes());
                Flow::Answer
            }
        }
    }
}
