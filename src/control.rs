//! The control side of the process: it owns the published [`Snapshot`] and hands each
//! worker a cheap reader. Workers check one atomic generation counter per request and
//! only touch the shared `Arc` when it changed (docs/architecture.md, "Threads").
//!
//! The control thread ([`start`], `control/reloader.rs`) is the only writer after
//! start-up: it watches the file provider (`control/watch.rs`), reloads on changes
//! and SIGHUP, and keeps the reload bookkeeping in [`ControlState`].

pub mod acme;
mod reloader;
mod state;
#[cfg(test)]
mod tests;
mod watch;

pub use reloader::{Control, load_first, start};
pub use state::ControlState;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::config::Snapshot;

/// The one place a snapshot is published. Shared by the control thread (writer) and
/// every worker (readers).
pub struct Published {
    generation: AtomicU64,
    current: ArcSwap<Snapshot>,
}

impl Published {
    pub fn new(first: Snapshot) -> Arc<Self> {
        Arc::new(Self {
            generation: AtomicU64::new(first.generation),
            current: ArcSwap::from_pointee(first),
        })
    }

    /// Makes `next` the snapshot every worker picks up on its next request.
    pub fn publish(&self, next: Snapshot) {
        let generation = next.generation;
        self.current.store(Arc::new(next));
        // Release pairs with the Acquire in `generation()`: a worker that sees the new
        // number also sees the snapshot stored before it.
        self.generation.store(generation, Ordering::Release);
    }

    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }
}
