//! Process orchestration on the main thread: load the static config, decide cores and
//! the I/O driver, bind listeners, publish the first snapshot, start the workers, the
//! health prober and the control thread (which reloads), then wait for signals —
//! SIGHUP is passed to the control thread, SIGTERM/SIGINT drain gracefully
//! (docs/architecture.md §10).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use crate::config::{self, ConfigErrors, IoDriver, StaticConfig};
use crate::control::{self, Control, Published};
use crate::edge::driver::{self, Driver, UringUnavailable};
use crate::edge::listener::{self, ListenError};
use crate::edge::{self, Event, Spec};
use crate::runtime::shutdown::phase;

/// How long workers get to report that they serve before start-up is declared failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// After the grace time, how long aborted workers get to unwind.
const ABORT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid configuration:\n{0}")]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Cores(String),
    #[error(transparent)]
    Uring(#[from] UringUnavailable),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("worker {index} failed: {error}")]
    Worker { index: usize, error: String },
}

/// Command-line overrides of the static config.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: PathBuf,
    pub cores: Option<usize>,
    pub io_driver: Option<IoDriver>,
}

enum Msg {
    Worker(Event),
    Signal(i32),
}

/// Validates the static and dynamic config exactly as a start would.
pub fn check(path: &std::path::Path) -> Result<(), ConfigErrors> {
    let cfg = config::load_static(path)?;
    config::load_snapshot(&cfg, 0).map(|_| ())
}

/// Runs proxyd until SIGTERM/SIGINT has drained it.
pub fn run(opts: RunOptions) -> Result<(), AppError> {
    let cfg = config::load_static(&opts.config)?;
    init_logging(cfg.log_level);
    // Handlers first: a SIGHUP or SIGTERM that comes as soon as the ports are bound
    // must not meet the default action (terminate). signal-hook queues them until
    // the forwarding thread starts reading, after the workers are ready. SIGUSR1
    // (access-log reopen) is caught too, so it never kills the process.
    let signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?;
    let cores = resolve_cores(opts.cores.or(cfg.workers.cores))?;
    let requested = opts.io_driver.unwrap_or(cfg.workers.io_driver);
    let driver = driver::resolve(requested)?;
    let (first, fingerprint) = control::load_first(&cfg)?;
    let published = Published::new(first);
    let mut groups = Vec::new();
    for ep in &cfg.entry_points {
        groups.push(listener::bind_group(&ep.name, ep.address, cores.len())?);
    }
    let (tx, rx) = mpsc::channel();
    let phase = Arc::new(AtomicU8::new(phase::RUNNING));
    let hub = crate::observe::Hub::new(&cfg, cores.len(), phase.clone())?;
    let spawned = start_workers(
        &cfg, &cores, driver, requested, groups, &published, &hub, &tx,
    )?;
    let driver = wait_ready(&rx, spawned)?;
    // One prober for the process, whatever the number of workers.
    let prober = crate::health::start(published.clone())?;
    // ACME orders run on a thread of their own, never on a worker.
    let acme = control::acme::start(&cfg, published.clone())?;
    let control = control::start(cfg.clone(), published, fingerprint)?;
    hub.set_control(control.state().clone());
    forward_signals(signals, tx, hub.reopen.clone())?;
    // Last: from this line on, the process has every thread and descriptor it
    // keeps (tests count descriptors from here).
    log::info!("ready workers={spawned} driver={}", driver.name());
    serve_until_stopped(&control, &rx);
    // No reloads while draining: the config being drained is the one to finish with.
    control.stop();
    if let Some(acme) = acme {
        acme.stop();
    }
    drain(&cfg, &phase, &rx, spawned);
    prober.stop();
    log::info!("stopped");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn start_workers(
    cfg: &StaticConfig,
    cores: &[Option<core_affinity::CoreId>],
    driver: Driver,
    requested: IoDriver,
    mut groups: Vec<Vec<std::net::TcpListener>>,
    published: &Arc<Published>,
    hub: &Arc<crate::observe::Hub>,
    tx: &Sender<Msg>,
) -> Result<usize, AppError> {
    let hostname: Arc<str> = hostname().into();
    for (index, core) in cores.iter().enumerate() {
        let listeners = cfg
            .entry_points
            .iter()
            .enumerate()
            .map(|(ep, cfg_ep)| (ep, cfg_ep.clone(), groups[ep].remove(0)))
            .collect();
        let tx = tx.clone();
        edge::spawn(Spec {
            index,
            core: *core,
            driver,
            ring_entries: cfg.workers.ring_entries,
            fallback: requested == IoDriver::Auto,
            listeners,
            published: published.clone(),
            phase: hub.phase.clone(),
            hostname: hostname.clone(),
            hub: hub.clone(),
            notify: Box::new(move |e| {
                let _ = tx.send(Msg::Worker(e));
            }),
        })?;
    }
    Ok(cores.len())
}

fn wait_ready(rx: &Receiver<Msg>, workers: usize) -> Result<Driver, AppError> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut driver = Driver::Uring;
    let mut ready = 0;
    while ready < workers {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Msg::Worker(Event::Ready { driver: d, .. })) => {
                ready += 1;
                // Any worker that fell back to epoll makes the process report epoll.
                if d == Driver::Epoll {
                    driver = d;
                }
            }
            Ok(Msg::Worker(Event::Failed { index, error })) => {
                return Err(AppError::Worker { index, error });
            }
            Ok(_) => {}
            Err(_) => {
                return Err(AppError::Worker {
                    index: ready,
                    error: "did not start in time".into(),
                });
            }
        }
    }
    Ok(driver)
}

/// SIGUSR1 is handled here, not forwarded: it bumps the counter on which every
/// worker reopens its access log.
fn forward_signals(
    mut signals: signal_hook::iterator::Signals,
    tx: Sender<Msg>,
    reopen: Arc<std::sync::atomic::AtomicU64>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("proxyd-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if sig == SIGUSR1 {
                    reopen.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if tx.send(Msg::Signal(sig)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// Serves until SIGTERM/SIGINT (or every worker died). SIGHUP asks the control thread
/// for a reload, the same path as a file change.
fn serve_until_stopped(control: &Control, rx: &Receiver<Msg>) {
    loop {
        match rx.recv() {
            Ok(Msg::Signal(SIGHUP)) => control.force_reload(),
            Ok(Msg::Signal(sig)) => {
                log::info!("signal {sig} received: stopping gracefully");
                return;
            }
            Ok(Msg::Worker(Event::Failed { index, error })) => {
                log::error!("worker {index} failed: {error}");
            }
            Ok(Msg::Worker(Event::Exited { index })) => {
                log::error!("worker {index} exited unexpectedly: stopping");
                return;
            }
            Ok(Msg::Worker(Event::Ready { .. })) => {}
            Err(_) => return,
        }
    }
}

/// Graceful stop: keep accepting for `requestAcceptGraceTimeout`, then stop
/// accepting and close idle connections, give in-flight requests `graceTimeOut`,
/// then drop what is left. A second signal skips straight to the end.
fn drain(cfg: &StaticConfig, phase: &AtomicU8, rx: &Receiver<Msg>, workers: usize) {
    let max = |f: fn(&config::EntryPoint) -> Duration| {
        cfg.entry_points.iter().map(f).max().unwrap_or_default()
    };
    let accept_grace = max(|e| e.request_accept_grace_timeout);
    let grace = max(|e| e.grace_timeout);
    phase.store(phase::DRAINING, Ordering::Release);
    let mut exited = 0;
    let urgent = wait_events(rx, Instant::now() + accept_grace, &mut exited, workers);
    phase.store(phase::STOPPING, Ordering::Release);
    if !urgent {
        wait_events(rx, Instant::now() + grace, &mut exited, workers);
    }
    if exited < workers {
        log::warn!(
            "grace time over: closing {} worker(s) with open connections",
            workers - exited
        );
        phase.store(phase::ABORT, Ordering::Release);
        wait_events(rx, Instant::now() + ABORT_TIMEOUT, &mut exited, workers);
    }
}

/// Counts worker exits until `deadline` or all exited. Returns true if a second
/// stop signal asked to hurry.
fn wait_events(rx: &Receiver<Msg>, deadline: Instant, exited: &mut usize, workers: usize) -> bool {
    while *exited < workers {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match rx.recv_timeout(left) {
            Ok(Msg::Worker(Event::Exited { .. })) => *exited += 1,
            Ok(Msg::Signal(SIGINT | SIGTERM)) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// The cores to run on: `requested` workers (default: every core this process may
/// use), each pinned to its own core.
fn resolve_cores(requested: Option<usize>) -> Result<Vec<Option<core_affinity::CoreId>>, AppError> {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let available = if ids.is_empty() {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        ids.len()
    };
    let n = match requested {
        Some(0) => return Err(AppError::Cores("--cores must be at least 1".into())),
        Some(n) if n > available => {
            return Err(AppError::Cores(format!(
                "--cores {n} is more than the {available} core(s) this machine lets proxyd use"
            )));
        }
        Some(n) => n,
        None => available,
    };
    Ok((0..n).map(|i| ids.get(i).copied()).collect())
}

/// The kernel's host name (what gethostname(2) returns), read once at start.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Logs to stderr, one line per event, at the configured level (`RUST_LOG` wins).
pub fn init_logging(level: log::LevelFilter) {
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .parse_env("RUST_LOG")
        .format_timestamp_millis()
        .format_target(false)
        .try_init();
}
