//! The control thread: waits for "the files may have changed" (from the watcher) or
//! "reload now" (SIGHUP), coalesces a burst into one reload after the throttle
//! (`providers.providersThrottleDuration`), then reads, fingerprints, compiles and
//! publishes — or refuses and keeps the last good snapshot. The only place that
//! parses dynamic config after start-up, so workers never touch a file.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{ControlState, Published, kv, watch};
use crate::config::{self, ConfigErrors, Snapshot, StaticConfig};

/// What the control thread is told.
enum Command {
    /// The watcher saw an event: re-read, publish if the content changed.
    Changed,
    /// SIGHUP: re-read and publish even if the files did not change.
    Force,
    Stop,
}

/// What the first load saw, for [`start`]: the fingerprint of what the first
/// snapshot was built from, and the KV stores' last good pairs.
pub struct Seen {
    pub fingerprint: u64,
    kv: kv::Sources,
}

/// Loads the first snapshot (generation 1). A KV store that cannot be read is
/// left out (logged); its watcher adds it once it answers.
pub fn load_first(cfg: &StaticConfig) -> Result<(Snapshot, Seen), ConfigErrors> {
    let mut kv = kv::Sources::new(&cfg.kv);
    let files = config::read_dynamic_with(cfg, kv.read());
    let fingerprint = files.fingerprint();
    let snapshot = config::compile_snapshot(cfg, files, 1)?;
    Ok((snapshot, Seen { fingerprint, kv }))
}

/// `proxyd check`: the files and every KV store, read once; a store that
/// cannot be read is an error here (a running proxyd would start without it).
pub fn check(cfg: &StaticConfig) -> Result<(), ConfigErrors> {
    let (sources, errors) = kv::Sources::new(&cfg.kv).read_once();
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let files = config::read_dynamic_with(cfg, sources);
    config::compile_snapshot(cfg, files, 0).map(|_| ())
}

/// The running control thread. Stopping it (or dropping the handle) ends it and
/// its watcher.
pub struct Control {
    tx: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    state: Arc<ControlState>,
}

impl Control {
    /// Asks for a reload that publishes even unchanged files (SIGHUP).
    pub fn force_reload(&self) {
        let _ = self.tx.send(Command::Force);
    }

    pub fn state(&self) -> &Arc<ControlState> {
        &self.state
    }

    /// Stops the thread and waits for it; a reload in progress finishes first.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the control thread. `fingerprint` is that of the files `published`'s
/// current snapshot came from (see [`load_first`]).
pub fn start(cfg: StaticConfig, published: Arc<Published>, seen: Seen) -> std::io::Result<Control> {
    let (tx, rx) = mpsc::channel();
    let state = Arc::new(ControlState::new());
    let watch_tx = tx.clone();
    let mut reloader = Reloader {
        cfg,
        published,
        state: state.clone(),
        fingerprint: seen.fingerprint,
        kv: seen.kv,
    };
    let kv_watch = reloader.watch_kv(&tx)?;
    // Set up here, not on the thread: once `start` returns every later change is
    // seen. Moved into the thread so that it lives exactly as long as the loop.
    let watcher = reloader.watch(watch_tx);
    if watcher.is_some() {
        // Files changed between the first load and the watch raised no event; one
        // look closes that gap. It goes through the throttle like any event: a
        // file caught mid-write (truncated, not yet rewritten) would otherwise be
        // published as it stood for a moment, e.g. as an empty configuration.
        let _ = tx.send(Command::Changed);
    }
    let thread = std::thread::Builder::new()
        .name("proxyd-control".into())
        .spawn(move || {
            let _watcher = watcher;
            let _kv_watch = kv_watch;
            reloader.run(&rx);
        })?;
    Ok(Control {
        tx,
        thread: Some(thread),
        state,
    })
}

pub(super) struct Reloader {
    pub(super) cfg: StaticConfig,
    pub(super) published: Arc<Published>,
    pub(super) state: Arc<ControlState>,
    /// Of the files last compiled, published or refused.
    pub(super) fingerprint: u64,
    /// The KV providers, read with the files at every reload.
    pub(super) kv: kv::Sources,
}

/// What one reload attempt did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Unchanged,
    Published(u64),
    Refused,
}

impl Reloader {
    /// Starts the watcher unless `watch = false`. A watcher that cannot start
    /// (inotify limits) is logged, not fatal: SIGHUP still reloads.
    fn watch(&self, tx: Sender<Command>) -> Option<notify::RecommendedWatcher> {
        let provider = self.cfg.provider.as_ref().filter(|p| p.watch)?;
        match watch::start(provider, move || {
            let _ = tx.send(Command::Changed);
        }) {
            Ok(w) => {
                log::info!(
                    "watching {} for configuration changes",
                    provider.path.display()
                );
                Some(w)
            }
            Err(e) => {
                log::error!(
                    "cannot watch {}: {e}; reload with SIGHUP",
                    provider.path.display()
                );
                None
            }
        }
    }

    /// Starts one watcher thread per KV provider; they end when the returned
    /// guard is dropped (with the control thread).
    fn watch_kv(&self, tx: &Sender<Command>) -> std::io::Result<kv::StopOnDrop> {
        let stop = kv::StopOnDrop::default();
        for source in &self.kv.0 {
            self.state
                .add_provider(source.cfg.store.name(), source.up.clone());
            let tx = tx.clone();
            source.watch(stop.flag(), move || {
                let _ = tx.send(Command::Changed);
            })?;
        }
        Ok(stop)
    }

    fn run(&mut self, rx: &Receiver<Command>) {
        loop {
            let mut forced = match rx.recv() {
                Ok(Command::Changed) => false,
                Ok(Command::Force) => true,
                Ok(Command::Stop) | Err(_) => return,
            };
            // Coalesce: an editor's save or a ConfigMap swap is a burst of events;
            // collect the rest of it and reload once.
            let deadline = Instant::now() + self.cfg.providers_throttle;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(Command::Changed) => {}
                    Ok(Command::Force) => forced = true,
                    Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => break,
                }
            }
            self.reload(forced);
        }
    }

    /// Reads the files; if they changed (or `forced`), compiles and publishes them,
    /// or refuses them and keeps the current snapshot.
    pub(super) fn reload(&mut self, forced: bool) -> Outcome {
        let started = Instant::now();
        let files = config::read_dynamic_with(&self.cfg, self.kv.read());
        let fingerprint = files.fingerprint();
        if fingerprint == self.fingerprint && !forced {
            log::debug!("configuration files unchanged: nothing to reload");
            return Outcome::Unchanged;
        }
        // Remembered for refusals too, so the same bad files are reported once,
        // not again on every event until they are fixed.
        self.fingerprint = fingerprint;
        let current = self.published.generation();
        let generation = current + 1;
        match config::compile_snapshot(&self.cfg, files, generation) {
            Ok(mut snapshot) => {
                // Before publishing: no worker may see a kept server as up again.
                config::carry_health(&mut snapshot, &self.published.load());
                // And rate limits and in-flight counts whose definition is kept.
                config::carry_limits(&mut snapshot, &self.published.load());
                let (routers, services) = (snapshot.routers.len(), snapshot.services.len());
                self.published.publish(snapshot);
                self.state.record_success();
                log::info!(
                    "configuration reloaded generation={generation} routers={routers} \
                     services={services} in {}",
                    millis(started.elapsed())
                );
                Outcome::Published(generation)
            }
            Err(errors) => {
                // Recorded before the line is logged: whoever acts on the line (an
                // operator, a test) must find the refusal in the API and metrics.
                self.state.record_failure(&errors);
                let n = errors.0.len();
                // One log line per refusal: log shippers and `grep` see it whole.
                let one_line: Vec<String> = errors
                    .0
                    .iter()
                    .map(|e| e.to_string().replace('\n', " "))
                    .collect();
                log::error!(
                    "configuration reload refused: {n} error(s), generation={current} keeps \
                     serving: {}",
                    one_line.join("; ")
                );
                Outcome::Refused
            }
        }
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1000.0)
}
