//! The ACME thread (`proxyd-acme`): obtains and renews the certificates of
//! `certificatesResolvers.<name>.acme` for routers' `tls.certResolver`, off the
//! data path. Blocking is fine here; workers only read what it publishes:
//! certificates and pending challenges in `tls::acme`'s lock-free tables.
//!
//! The loop: at start, each resolver's storage is read and its certificates
//! published; the wanted domains are recomputed whenever the snapshot
//! generation changes (router Host rules or `tls.domains`, as Traefik); a
//! wanted domain no held certificate covers is ordered; every renew interval
//! (Traefik's schedule, from `certificatesDuration`) certificates within their
//! renew period are re-ordered. A failure is logged with the CA's error and
//! retried with exponential backoff; a failed renewal keeps the old certificate.

mod challenge;
mod client;
mod https;
mod jws;
mod state;
mod storage;
mod wanted;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Published;
use crate::config::StaticConfig;

/// How often the thread looks at the snapshot generation and its timers.
const TICK: Duration = Duration::from_millis(100);
/// How long a graceful stop waits for the thread.
const STOP_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("{0}")]
    Setup(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("ACME error from {url} (status {status}): {detail}")]
    Acme {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("storage {0}")]
    Storage(String),
}

pub struct AcmeThread {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl AcmeThread {
    /// Ends the loop. An order in progress can block for up to its client
    /// timeouts, so a stop waits [`STOP_WAIT`] at most and then leaves the
    /// thread to the process exit: the storage is only ever replaced by a
    /// rename, so an interrupted write leaves the old file whole.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let deadline = std::time::Instant::now() + STOP_WAIT;
        while !self.handle.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        match self.handle.is_finished() {
            true => drop(self.handle.join()),
            false => log::info!("acme: an order is still in progress; not waiting for it"),
        }
    }
}

/// Starts the thread when the static config has resolvers.
pub fn start(cfg: &StaticConfig, published: Arc<Published>) -> std::io::Result<Option<AcmeThread>> {
    if cfg.cert_resolvers.is_empty() {
        return Ok(None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let cfg = cfg.clone();
    // Stored certificates are published before `ready`, so a restart serves
    // them from its first handshake.
    let resolvers: Vec<state::Resolver> = cfg
        .cert_resolvers
        .iter()
        .map(state::Resolver::load)
        .collect();
    state::publish(&resolvers);
    let handle = std::thread::Builder::new()
        .name("proxyd-acme".into())
        .spawn(move || run(&cfg, resolvers, &published, &flag))?;
    Ok(Some(AcmeThread { stop, handle }))
}

fn run(
    cfg: &StaticConfig,
    mut resolvers: Vec<state::Resolver>,
    published: &Published,
    stop: &AtomicBool,
) {
    let mut generation = None;
    let mut wanted = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let g = published.generation();
        if generation != Some(g) {
            generation = Some(g);
            wanted = wanted::domains(cfg, &published.load());
        }
        for r in resolvers.iter_mut() {
            let mine: Vec<_> = wanted
                .iter()
                .filter(|(name, _)| *name == r.cfg.name)
                .map(|(_, d)| d.clone())
                .collect();
            r.renew_due();
            r.obtain_missing(&mine);
        }
        if resolvers.iter().any(|r| r.dirty) {
            state::publish(&resolvers);
            resolvers.iter_mut().for_each(|r| r.dirty = false);
        }
        std::thread::sleep(TICK);
    }
}
