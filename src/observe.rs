//! Observability: per-worker metrics and access log on the request
//! path, and the `@internal` services that read them — Prometheus text, Traefik's
//! JSON API, `/ping` and the dashboard.
//!
//! Data path: a [`Record`] on each connection collects what the request did (router,
//! service, status, bytes, retries), the protocol fills it at the few places where the
//! outcome is decided, and [`finish`] turns it into counters and maybe a log line on
//! the same worker — no lock, no cross-thread traffic, no allocation once warm.
//! Shared state is the [`Hub`]: one published metrics slot per worker (refreshed by
//! the worker's tick about once a second), the shutdown phase, the reload state and
//! the SIGUSR1 counter.

pub mod access_format;
pub mod access_log;
pub mod api;
pub mod api_docs;
pub mod dashboard;
pub mod metrics;
pub mod prometheus;
pub mod record;
pub mod serve;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::config::StaticConfig;
use crate::control::ControlState;

pub use record::{Record, Served, finish};

/// How often a worker publishes its counters for scrapes.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// Process-wide, read-mostly state the admin services need.
pub struct Hub {
    pub cfg: StaticConfig,
    pub phase: Arc<AtomicU8>,
    /// One per worker, indexed by worker number.
    pub slots: Vec<metrics::Slot>,
    control: OnceLock<Arc<ControlState>>,
    /// Bumped by SIGUSR1: workers reopen their access-log file.
    pub reopen: Arc<AtomicU64>,
    pub started: SystemTime,
    /// Bound address per entry point (the real port when the config said 0).
    bound: Mutex<Vec<Option<std::net::SocketAddr>>>,
    /// Per entry point, its `maxConnections` count, shared by every worker
    /// (`None`: unlimited).
    pub limits: Vec<Option<Arc<crate::runtime::limit::Limit>>>,
}

impl Hub {
    /// `app::run` catches SIGUSR1 (before binding anything) and bumps `reopen`.
    pub fn new(
        cfg: &StaticConfig,
        workers: usize,
        phase: Arc<AtomicU8>,
    ) -> std::io::Result<Arc<Hub>> {
        let reopen = Arc::new(AtomicU64::new(0));
        let names: Vec<String> = cfg.entry_points.iter().map(|e| e.name.clone()).collect();
        Ok(Arc::new(Hub {
            cfg: cfg.clone(),
            phase,
            slots: (0..workers)
                .map(|_| Arc::new(Mutex::new(metrics::Metrics::new(&names))))
                .collect(),
            control: OnceLock::new(),
            reopen,
            started: SystemTime::now(),
            bound: Mutex::new(vec![None; cfg.entry_points.len()]),
            limits: cfg
                .entry_points
                .iter()
                .map(|e| crate::runtime::limit::Limit::new(e.max_connections).map(Arc::new))
                .collect(),
        }))
    }

    /// Remembers where entry point `ep` listens (every worker reports the same).
    pub fn set_bound(&self, ep: usize, addr: std::net::SocketAddr) {
        let mut b = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = b.get_mut(ep) {
            *slot = Some(addr);
        }
    }

    pub fn bound(&self, ep: usize) -> Option<std::net::SocketAddr> {
        let b = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        b.get(ep).copied().flatten()
    }

    /// The control thread starts after the workers; its state is attached then.
    pub fn set_control(&self, state: Arc<ControlState>) {
        let _ = self.control.set(state);
    }

    pub fn control(&self) -> Option<&ControlState> {
        self.control.get().map(|c| &**c)
    }

    /// Every worker's last published counters, summed. Takes each slot's lock briefly.
    pub fn merged(&self) -> metrics::Metrics {
        let guards: Vec<_> = self
            .slots
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        metrics::Metrics::merge_all(guards.iter().map(|g| &**g))
    }
}

/// A worker's own observability state. Lives on the worker thread only.
pub struct WorkerObs {
    pub hub: Arc<Hub>,
    pub index: usize,
    pub metrics: RefCell<metrics::Metrics>,
    pub log: RefCell<Option<access_log::AccessLog>>,
    /// Requests finished on this worker (the access log's RequestCount).
    pub requests: Cell<u64>,
    reopen_seen: Cell<u64>,
    last_publish: Cell<Instant>,
}

impl WorkerObs {
    pub fn new(hub: Arc<Hub>, index: usize) -> WorkerObs {
        let names: Vec<String> = hub
            .cfg
            .entry_points
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let log = hub
            .cfg
            .observe
            .access_log
            .as_ref()
            .map(|a| access_log::AccessLog::open(a.file_path.clone(), a.buffering_size, index));
        WorkerObs {
            reopen_seen: Cell::new(hub.reopen.load(Ordering::Relaxed)),
            hub,
            index,
            metrics: RefCell::new(metrics::Metrics::new(&names)),
            log: RefCell::new(log),
            requests: Cell::new(0),
            last_publish: Cell::new(Instant::now()),
        }
    }

    /// Whether requests need their head copied for a log line.
    #[inline]
    pub fn logging(&self) -> bool {
        self.hub.cfg.observe.access_log.is_some()
    }

    /// Whether anything reads the counters (`/metrics` or the API/dashboard); without
    /// either, requests skip the counting so "metrics off" costs nothing.
    #[inline]
    pub fn counting(&self) -> bool {
        let o = &self.hub.cfg.observe;
        o.prometheus.is_some() || o.api.is_some()
    }

    /// Runs on every `supervise` tick (50 ms): flush the log buffer, reopen on
    /// SIGUSR1, and about once a second publish the counters.
    pub fn tick(&self) {
        let mut log = self.log.borrow_mut();
        if let Some(log) = log.as_mut() {
            log.flush();
            let reopen = self.hub.reopen.load(Ordering::Relaxed);
            if reopen != self.reopen_seen.get() {
                self.reopen_seen.set(reopen);
                log.reopen();
                log::info!("access log reopened by worker {} (SIGUSR1)", self.index);
            }
        }
        if self.last_publish.get().elapsed() < PUBLISH_EVERY {
            return;
        }
        self.last_publish.set(Instant::now());
        if let Some(log) = log.as_mut() {
            log.check_path();
        }
        let mut m = self.metrics.borrow_mut();
        if let Some(log) = log.as_ref() {
            m.log_lines = log.written;
            m.log_dropped = log.dropped;
        }
        let mut slot = self.hub.slots[self.index]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        m.publish(&mut slot);
    }
}
