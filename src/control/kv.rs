//! The KV providers on the control side (Redis, etcd): each has a watcher thread
//! that says "the store may have changed" into the control channel, exactly as
//! the file watcher does, so a burst of key writes (a `MULTI`/`EXEC`, an etcd
//! transaction) coalesces in the same throttle into one reload. The reload reads
//! the whole tree under `rootKey` on the control thread (blocking clients with
//! timeouts, never on a worker) and hands it to `config::kv_source`.
//!
//! Failure: a store that cannot be read keeps its last good pairs, so the rest
//! of the configuration keeps serving unchanged; up/down is logged once per
//! change and exported as `proxyd_provider_up{provider}`. Watchers reconnect
//! with exponential backoff.

mod etcd;
mod redis;
mod resp;
mod sentinel;
mod stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::{KvProvider, KvStore, SourceFile};

/// Connect, read and write timeout of one store request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a blocked watcher checks whether the control thread stopped.
const STOP_CHECK: Duration = Duration::from_millis(250);
/// Reconnect backoff: first wait, and the longest (Traefik's exponential
/// backoff starts near 500ms too).
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

fn connect_timeout() -> Duration {
    CONNECT_TIMEOUT
}

/// One provider: its settings, its last good pairs and whether it is up.
pub struct Source {
    pub cfg: KvProvider,
    /// `None` until the store was read once.
    last: Option<Vec<(String, String)>>,
    pub up: Arc<AtomicBool>,
    /// Whether a state was logged yet: the first is logged even if down (as
    /// the flag starts), so a store refused at start says why.
    told: Arc<AtomicBool>,
}

/// Every KV provider of the static configuration.
#[derive(Default)]
pub struct Sources(pub Vec<Source>);

impl Sources {
    pub fn new(cfgs: &[KvProvider]) -> Sources {
        Sources(
            cfgs.iter()
                .map(|cfg| Source {
                    cfg: cfg.clone(),
                    last: None,
                    up: Arc::new(AtomicBool::new(false)),
                    told: Arc::new(AtomicBool::new(false)),
                })
                .collect(),
        )
    }

    /// Reads every store; one that fails keeps its last good pairs (none if it
    /// was never read: the other providers start without it).
    pub fn read(&mut self) -> Vec<SourceFile> {
        self.0.iter_mut().filter_map(Source::read).collect()
    }
}

impl Sources {
    /// Reads every store once for `proxyd check`: a store that cannot be read is
    /// an error naming the provider.
    pub fn read_once(mut self) -> (Vec<SourceFile>, Vec<crate::config::ConfigError>) {
        let mut errors = Vec::new();
        let mut files = Vec::new();
        for s in &mut self.0 {
            match s.fetch() {
                Ok(pairs) => {
                    files.push(crate::config::kv_source(s.name(), &s.cfg.root_key, &pairs))
                }
                Err(e) => errors.push(crate::config::ConfigError::new(
                    format!("providers.{}", s.name()),
                    "endpoints",
                    format!("cannot read the store: {e}"),
                )),
            }
        }
        (files, errors)
    }
}

impl Source {
    fn fetch(&self) -> std::io::Result<Vec<(String, String)>> {
        let got = match self.cfg.store {
            KvStore::Redis => redis::read(&self.cfg),
            KvStore::Etcd => etcd::read(&self.cfg),
        };
        got.map(|pairs| pairs.into_iter().map(text).collect())
    }

    fn name(&self) -> &'static str {
        self.cfg.store.name()
    }

    fn read(&mut self) -> Option<SourceFile> {
        match self.fetch() {
            Ok(pairs) => {
                set_up((&self.up, &self.told), self.name(), true, "");
                self.last = Some(pairs);
            }
            Err(e) => {
                set_up((&self.up, &self.told), self.name(), false, &e.to_string());
            }
        }
        let pairs = self.last.as_ref()?;
        Some(crate::config::kv_source(
            self.name(),
            &self.cfg.root_key,
            pairs,
        ))
    }

    /// Starts the watcher thread; `changed` goes into the control channel.
    pub fn watch(
        &self,
        stop: Arc<AtomicBool>,
        changed: impl Fn() + Send + 'static,
    ) -> std::io::Result<()> {
        let w = Watch {
            name: self.name(),
            up: self.up.clone(),
            told: self.told.clone(),
            stop,
            changed: Box::new(changed),
        };
        let cfg = self.cfg.clone();
        std::thread::Builder::new()
            .name(format!("proxyd-{}", self.name()))
            .spawn(move || match cfg.store {
                KvStore::Redis => redis::watch(&cfg, &w),
                KvStore::Etcd => etcd::watch(&cfg, &w),
            })?;
        Ok(())
    }
}

/// A stored value as text. Configuration values are text in Traefik's layout;
/// bytes that are not UTF-8 are replaced (and said so) rather than dropped.
fn text((key, value): (String, Vec<u8>)) -> (String, String) {
    let value = match String::from_utf8(value) {
        Ok(v) => v,
        Err(e) => {
            log::warn!("KV key {key}: value is not UTF-8; invalid bytes replaced");
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    (key, value)
}

/// Logs only a change of state: a store down for an hour is one line, not one
/// per retry.
fn set_up((flag, told): (&AtomicBool, &AtomicBool), name: &str, up: bool, why: &str) {
    let first = !told.swap(true, Ordering::Relaxed);
    if flag.swap(up, Ordering::Relaxed) != up || first {
        if up {
            log::info!("provider {name}: store reachable");
        } else {
            log::error!(
                "provider {name}: store unreachable ({why}); keeping its last good configuration"
            );
        }
    }
}

/// Tells the watcher threads to end when dropped (they notice within
/// [`STOP_CHECK`]).
#[derive(Default)]
pub struct StopOnDrop(Arc<AtomicBool>);

impl StopOnDrop {
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a watcher thread holds.
pub struct Watch {
    name: &'static str,
    up: Arc<AtomicBool>,
    told: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    changed: Box<dyn Fn() + Send>,
}

impl Watch {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn changed(&self) {
        (self.changed)();
    }

    fn up(&self) {
        set_up((&self.up, &self.told), self.name, true, "");
    }

    fn down(&self, why: &str) {
        set_up((&self.up, &self.told), self.name, false, why);
    }

    /// Called by a connected watcher every [`DEFAULT_KV_POLL_INTERVAL`]: when the
    /// last read failed although the watch connected (a Redis still loading its
    /// data answers `LOADING`), asks for another look. Nothing else would: the
    /// watch only speaks when a key changes, and the store stayed down meanwhile.
    ///
    /// [`DEFAULT_KV_POLL_INTERVAL`]: crate::config::DEFAULT_KV_POLL_INTERVAL
    fn read_again_if_it_failed(&self) {
        if !self.up.load(Ordering::Relaxed) {
            self.changed();
        }
    }

    /// Sleeps `d`, waking early when stopped.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(STOP_CHECK));
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff(BACKOFF_FIRST)
    }
}

/// Doubling waits, capped.
struct Backoff(Duration);

impl Backoff {
    fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        d
    }
}
