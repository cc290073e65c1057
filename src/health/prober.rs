//! The `proxyd-health` thread: follows the published snapshot (one atomic
//! generation load per [`RECHECK`]), keeps one task per probed server (same
//! service name and URL across snapshots: a reload neither restarts nor
//! duplicates its schedule), probes it every `interval` while it is up and
//! every `unhealthyInterval` while it is down, and logs each change of state.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::target::{self, Spec};
use super::{grpc, probe};
use crate::config::{Health, ServiceKind, Snapshot};
use crate::control::Published;

/// How often the prober looks for a new snapshot or a stop.
const RECHECK: Duration = Duration::from_millis(50);

/// The running prober; stopping it (or dropping it) ends the thread.
pub struct Prober {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Prober {
    /// Stops the thread and waits for it (at most about [`RECHECK`]: probes in
    /// flight are dropped with its runtime).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the one prober of the process. A runtime that cannot start is
/// logged: servers then stay up, as without health checks.
pub fn start(published: Arc<Published>) -> std::io::Result<Prober> {
    let stop = Arc::new(AtomicBool::new(false));
    // Server host names are re-resolved beside the prober, on a thread of
    // their own (blocking lookups must not hold probes); it ends with the
    // prober's flag, unjoined, so a slow lookup never delays a stop.
    super::resolve::start(published.clone(), stop.clone())?;
    let flag = stop.clone();
    let (built, wait) = std::sync::mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("proxyd-health".into())
        .spawn(move || {
            // epoll: a handful of probes needs no ring, nor its locked memory.
            let rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                .enable_timer()
                .build();
            let _ = built.send(());
            match rt {
                Ok(mut rt) => rt.block_on(run(published, flag)),
                Err(e) => log::error!("health checks cannot run: runtime failed: {e}"),
            }
        })?;
    // The process is "ready" only once the prober holds what it keeps open
    // (its runtime's descriptors), so nothing appears after that line.
    let _ = wait.recv();
    Ok(Prober {
        stop,
        thread: Some(thread),
    })
}

/// (qualified service name, server URL).
type Key = (String, String);

/// One probed server, shared by the reconcile loop and the server's task.
struct Target {
    service: String,
    url: String,
    spec: RefCell<Rc<Spec>>,
    health: RefCell<Health>,
    /// When the next probe starts.
    due: Cell<Instant>,
    /// No longer in the published snapshot: the task ends at its next look.
    removed: Cell<bool>,
    /// Set by [`Target::nudge`]: the schedule changed while the task slept.
    nudged: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

async fn run(published: Arc<Published>, stop: Arc<AtomicBool>) {
    let mut targets: HashMap<Key, Rc<Target>> = HashMap::new();
    let mut generation = 0;
    while !stop.load(Ordering::Relaxed) {
        let g = published.generation();
        if g != generation {
            reconcile(&mut targets, &published.load());
            generation = g;
        }
        monoio::time::sleep(RECHECK).await;
    }
}

/// Makes the set of tasks match `snap`: new servers get a task, kept ones
/// their new request and schedule, removed ones are told to end.
fn reconcile(targets: &mut HashMap<Key, Rc<Target>>, snap: &Snapshot) {
    let mut live: HashSet<Key> = HashSet::new();
    for s in &snap.services {
        let ServiceKind::LoadBalancer(lb) = &s.kind else {
            continue;
        };
        let Some(check) = &lb.health_check else {
            continue;
        };
        for server in &lb.servers {
            let key = (s.name.clone(), server.url.clone());
            if !live.insert(key.clone()) {
                continue; // The same URL twice: one server, one flag.
            }
            // Checked when the snapshot was compiled: an error here is not expected.
            let tls = crate::config::probe_tls(lb, server).unwrap_or_else(|why| {
                log::warn!("health check of {}: {why}", server.url);
                None
            });
            let spec = Rc::new(target::spec(check, server, &lb.transport, tls));
            match targets.get(&key) {
                Some(t) => t.update(spec, &server.health),
                None => {
                    let t = Rc::new(Target::new(key.clone(), spec, &server.health));
                    monoio::spawn(watch(t.clone()));
                    targets.insert(key, t);
                }
            }
        }
    }
    targets.retain(|key, t| {
        let keep = live.contains(key);
        if !keep {
            t.removed.set(true);
            t.nudge();
        }
        keep
    });
}

impl Target {
    fn new((service, url): Key, spec: Rc<Spec>, health: &Health) -> Self {
        let due = Instant::now() + pause(&spec, health.is_up());
        Target {
            service,
            url,
            spec: RefCell::new(spec),
            health: RefCell::new(health.clone()),
            due: Cell::new(due),
            removed: Cell::new(false),
            nudged: Cell::new(false),
            waker: Cell::new(None),
        }
    }

    /// Wakes the task if it sleeps, so that it looks at its schedule again.
    fn nudge(&self) {
        self.nudged.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Sleeps until `at` or a [`Target::nudge`], whichever comes first: a
    /// server probed every 30 s costs its task no wake-up in between.
    async fn sleep_until(&self, at: Instant) {
        self.nudged.set(false);
        let nudged = std::future::poll_fn(|cx| {
            if self.nudged.get() {
                return Poll::Ready(());
            }
            self.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        });
        monoio::select! {
            _ = monoio::time::sleep(at.saturating_duration_since(Instant::now())) => {}
            _ = nudged => {}
        }
    }

    /// A new snapshot kept the server: its request may have changed, and a
    /// shorter interval applies from now rather than after the old one.
    fn update(&self, spec: Rc<Spec>, health: &Health) {
        let sooner = Instant::now() + pause(&spec, health.is_up());
        self.due.set(self.due.get().min(sooner));
        *self.spec.borrow_mut() = spec;
        *self.health.borrow_mut() = health.clone();
        self.nudge();
    }

    /// Publishes a verdict to the workers; logs a change of state.
    fn record(&self, verdict: &Result<probe::Up, probe::ProbeError>) {
        let up = verdict.is_ok();
        let was = self.health.borrow().set(up);
        match verdict {
            Ok(up) if !was => log::info!("service={} server={} UP: {up}", self.service, self.url),
            Err(e) if was => log::warn!("service={} server={} DOWN: {e}", self.service, self.url),
            _ => {}
        }
    }
}

fn pause(spec: &Spec, up: bool) -> Duration {
    if up {
        spec.check.interval
    } else {
        spec.check.unhealthy_interval
    }
}

/// One server's probes, one at a time, until it leaves the snapshot; its
/// kept connection lives here and closes with the task.
async fn watch(t: Rc<Target>) {
    let mut kept = probe::Kept::default();
    let mut last: Option<Rc<Spec>> = None;
    loop {
        let now = Instant::now();
        if t.removed.get() {
            return;
        }
        if t.due.get() > now {
            t.sleep_until(t.due.get()).await;
            continue;
        }
        let spec = t.spec.borrow().clone();
        // A reload gives every server a new definition (it may name another
        // port, TLS or request): its connection is not carried over.
        if last.as_ref().is_some_and(|l| !Rc::ptr_eq(l, &spec)) {
            kept.close();
        }
        last = Some(spec.clone());
        let verdict = if spec.check.grpc {
            // Boxed: the HTTP/2 call's state would make every HTTP probe's
            // future (in this task) as large.
            Box::pin(grpc::check(&spec)).await
        } else {
            probe::check(&spec, &mut kept).await
        };
        if t.removed.get() {
            return;
        }
        t.record(&verdict);
        // Like a ticker: the next probe starts one interval after this one
        // started, or at once when the probe itself took longer.
        t.due.set(now + pause(&spec, verdict.is_ok()));
    }
}
