//! The top of a worker thread: pinning it to its core, building its runtime
//! (`driver`), binding its SO_REUSEPORT listeners (`listener`), the accept loops
//! (`accept`) and the dispatch of each accepted connection by its first bytes to
//! TLS, HTTP or a TCP route (`dispatch`), and the housekeeping loop that watches
//! for a stop. What the worker's connections share is `worker::WorkerCtx`.

pub mod accept;
pub mod dispatch;
pub mod driver;
pub mod listener;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use monoio::io::Canceller;
use monoio::net::TcpListener;

use crate::config::EntryPoint;
use crate::control::Published;
use crate::runtime::parking;
use crate::runtime::shutdown::phase;
use crate::worker::{EntryCtx, WorkerCtx};
use driver::Driver;

/// How often a worker looks at the process-wide shutdown phase.
const TICK: Duration = Duration::from_millis(50);
/// Accepts kept outstanding per listener. With one, a burst of new connections
/// waits a ring round trip per connection between accepts; with a few, the ring
/// hands them out back to back (measured: connection-per-request load was
/// accept-bound at one).
const ACCEPTS_IN_FLIGHT: usize = 4;
/// How often idle upstream connections past their timeout are closed.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// What a worker tells the main thread.
#[derive(Debug)]
pub enum Event {
    Ready { index: usize, driver: Driver },
    Failed { index: usize, error: String },
    Exited { index: usize },
}

/// Everything a worker thread is started with.
pub struct Spec {
    pub index: usize,
    pub core: Option<core_affinity::CoreId>,
    pub driver: Driver,
    pub ring_entries: u32,
    /// Fall back to epoll if the ring cannot be set up (ioDriver = auto).
    pub fallback: bool,
    pub listeners: Vec<(usize, EntryPoint, std::net::TcpListener)>,
    pub published: Arc<Published>,
    pub phase: Arc<AtomicU8>,
    pub hostname: Arc<str>,
    pub hub: Arc<crate::observe::Hub>,
    /// Tells the main thread about this worker's life.
    pub notify: Box<dyn Fn(Event) + Send>,
}

pub fn spawn(spec: Spec) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("proxyd-w{}", spec.index))
        .spawn(move || run(spec))
}

fn run(mut spec: Spec) {
    if let Some(core) = spec.core
        && !core_affinity::set_for_current(core)
    {
        log::warn!("worker {}: could not pin to core {}", spec.index, core.id);
    }
    let index = spec.index;
    let boxed = std::mem::replace(&mut spec.notify, Box::new(|_| {}));
    let notify: Rc<dyn Fn(Event)> = Rc::new(boxed);
    let inner = notify.clone();
    let result = driver::block_on(spec.driver, spec.ring_entries, spec.fallback, |d| {
        serve(spec, inner, d)
    });
    let outcome = match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) | Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        notify(Event::Failed {
            index,
            error: e.to_string(),
        });
    }
    notify(Event::Exited { index });
}

async fn serve(spec: Spec, notify: Rc<dyn Fn(Event)>, driver: Driver) -> std::io::Result<()> {
    let w = Rc::new(WorkerCtx::new(
        spec.index,
        spec.published,
        &spec.hostname,
        spec.hub,
    ));
    log::info!(
        "worker {} started driver={} core={:?}",
        spec.index,
        driver.name(),
        spec.core.map(|c| c.id)
    );
    let mut cancellers = Vec::new();
    for (index, cfg, std_listener) in spec.listeners {
        let local = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        log::info!(
            "listening entrypoint={} addr={local} worker={}",
            cfg.name,
            spec.index
        );
        w.obs.hub.set_bound(index, local);
        let ep = Rc::new(EntryCtx {
            index,
            cfg,
            local,
            port_text: local.port().to_string(),
            limit: w.obs.hub.limits.get(index).cloned().flatten(),
            accept_log: crate::runtime::limit::RateLog::default(),
            refuse_log: crate::runtime::limit::RateLog::default(),
        });
        let canceller = Canceller::new();
        let listener = Rc::new(listener);
        for _ in 0..ACCEPTS_IN_FLIGHT {
            let (l, ep, w) = (listener.clone(), ep.clone(), w.clone());
            monoio::spawn(accept::accept_loop(l, ep, w, canceller.handle()));
        }
        cancellers.push(canceller);
    }
    let resume = |w: &Rc<WorkerCtx>, io, spot| {
        monoio::spawn(crate::http::server::resume(io, spot, w.clone()));
    };
    monoio::spawn(parking::run(
        w.clone(),
        w.shutdown.clone(),
        parking_lot,
        resume,
    ));
    notify(Event::Ready {
        index: spec.index,
        driver,
    });
    supervise(&w, &spec.phase, cancellers).await;
    // Parked connections hold the worker context (their open-connection guards):
    // close them here, inside the runtime, rather than leave that cycle behind.
    drop(w.parking.drain());
    Ok(())
}

fn parking_lot(w: &WorkerCtx) -> &parking::ParkingLot<crate::worker::Spot> {
    &w.parking
}

/// Watches the shutdown phase and does the periodic housekeeping. Returns when the
/// worker should stop: every connection is done after a stop, or the grace time ran out.
async fn supervise(w: &WorkerCtx, phase: &AtomicU8, mut cancellers: Vec<Canceller>) {
    let mut last_sweep = Instant::now();
    loop {
        monoio::time::sleep(TICK).await;
        let now = phase.load(Ordering::Acquire);
        if now >= phase::ABORT {
            return;
        }
        if now >= phase::STOPPING && !w.shutdown.is_fired() {
            for c in cancellers.drain(..) {
                c.cancel();
            }
            w.shutdown.fire();
        }
        if w.shutdown.is_fired() && w.open_connections.get() == 0 {
            return;
        }
        w.obs.metrics.borrow_mut().parked = w.parking.len() as u64;
        w.obs.tick();
        w.parking.sweep(Instant::now());
        w.trimmer.tick(Instant::now());
        if last_sweep.elapsed() >= SWEEP_EVERY {
            w.pool.sweep();
            last_sweep = Instant::now();
        }
    }
}
