//! What a worker's connections share, on the worker thread only: the entry points
//! as this worker serves them (`EntryCtx`), the worker context (`WorkerCtx`: its
//! view of the published config, upstream pool, shutdown signal, parking lot,
//! observability), admission of new connections (`admission`) and the view of
//! a snapshot with its per-worker state (`view`). The thread itself, its
//! listeners and accept loops are `edge`. Nothing a worker serves crosses to
//! another thread.

pub mod admission;
pub mod view;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crate::config::EntryPoint;
use crate::control::Published;
use crate::net::upstream::Pool;
use crate::runtime::{memory, parking, shutdown::Shutdown};
use view::View;

/// An entry point as one worker serves it.
pub struct EntryCtx {
    /// Index into `StaticConfig::entry_points` and `Snapshot::tables`.
    pub index: usize,
    pub cfg: EntryPoint,
    /// The bound address (the real port when the config said 0).
    pub local: SocketAddr,
    /// `local`'s port as text, for `X-Forwarded-Port`.
    pub port_text: String,
    /// `maxConnections`, shared with the other workers; `None`: unlimited.
    pub limit: Option<Arc<crate::runtime::limit::Limit>>,
    /// This worker's rate limits for accept-failure and refusal log lines.
    pub accept_log: crate::runtime::limit::RateLog,
    pub refuse_log: crate::runtime::limit::RateLog,
}

/// Everything a worker's connections share. Lives on the worker thread only.
pub struct WorkerCtx {
    pub index: usize,
    published: Arc<Published>,
    generation: Cell<u64>,
    view: RefCell<Rc<View>>,
    pub pool: Pool,
    pub shutdown: Rc<Shutdown>,
    pub open_connections: Cell<usize>,
    pub hostname: Rc<str>,
    /// Metrics, access log and the admin services' shared state.
    pub obs: crate::observe::WorkerObs,
    /// Quiet plaintext keep-alive connections, waiting without a task.
    pub parking: parking::ParkingLot<Spot>,
    /// Returns freed heap to the OS after waves of connections went quiet.
    pub trimmer: memory::Trimmer,
    /// Wakes accept loops backing off for lack of descriptors when one closes.
    pub closes: admission::Closes,
    /// `compress`'s spare encoders, reused across responses.
    pub encoders: crate::middleware::compress::EncoderPool,
}

impl WorkerCtx {
    pub fn new(
        index: usize,
        published: Arc<Published>,
        hostname: &str,
        hub: Arc<crate::observe::Hub>,
    ) -> Self {
        let generation = published.generation();
        let view = View::build(published.load(), None);
        Self {
            index,
            published,
            generation: Cell::new(generation),
            view: RefCell::new(Rc::new(view)),
            pool: Pool::new(),
            shutdown: Shutdown::new(),
            open_connections: Cell::new(0),
            hostname: hostname.into(),
            obs: crate::observe::WorkerObs::new(hub, index),
            parking: parking::ParkingLot::new(),
            trimmer: memory::Trimmer::new(),
            closes: admission::Closes::default(),
            encoders: Default::default(),
        }
    }

    /// The current view: one atomic load per request; rebuilt only when a new
    /// snapshot was published.
    #[inline]
    pub fn view(&self) -> Rc<View> {
        let generation = self.published.generation();
        if generation != self.generation.get() {
            let next = View::build(self.published.load(), Some(&self.view.borrow()));
            *self.view.borrow_mut() = Rc::new(next);
            self.generation.set(generation);
        }
        self.view.borrow().clone()
    }
}

/// What a client connection holds for its whole life, parked or not: its place in
/// the worker's open-connection count (a graceful stop waits for 0) and in the entry
/// point's open-connections gauge.
pub struct Held {
    pub open: admission::OpenGuard,
    pub observed: crate::worker::admission::ConnGuard,
}

/// A parked connection: its socket is in the lot, and this is what its next
/// task needs.
pub struct Spot {
    pub peer: SocketAddr,
    pub ep: Rc<EntryCtx>,
    /// When the idle timeout closes it.
    pub deadline: Option<Instant>,
    pub held: Held,
}

impl parking::Parked for Spot {
    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}
