//! What the control thread knows about reloads, for the log today and the
//! metrics/API issues later: counts of published and refused reloads, whether the
//! last one worked, when the last one worked, and the text of the last refusal.
//!
//! Written only by the control thread and read rarely (a scrape, a test), so plain
//! atomics plus a `Mutex` for the text are enough; nothing here is on the data path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{ConfigError, ConfigErrors};

/// Reload events kept for the API and dashboard.
const HISTORY: usize = 20;

/// One reload, for the dashboard's history.
#[derive(Debug, Clone)]
pub struct ReloadEvent {
    pub unix_ms: u64,
    pub ok: bool,
    /// The refusal's errors, one per line; empty on success.
    pub error: String,
}

#[derive(Debug)]
pub struct ControlState {
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    last_success: AtomicBool,
    /// Unix time in milliseconds of the last published config (start-up counts).
    last_success_unix_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// The last refusal's errors, structured (the API maps them to routers).
    last_errors: Mutex<Vec<ConfigError>>,
    history: Mutex<VecDeque<ReloadEvent>>,
    /// Each KV provider and whether its store answers (`control::kv`).
    providers: Mutex<Vec<(&'static str, Arc<AtomicBool>)>>,
}

impl Default for ControlState {
    fn default() -> Self {
        Self::new()
    }
}

impl ControlState {
    /// The state right after start-up, which published the first config.
    pub fn new() -> Self {
        let state = Self {
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            last_success: AtomicBool::new(true),
            last_success_unix_ms: AtomicU64::new(now_unix_ms()),
            last_error: Mutex::new(None),
            last_errors: Mutex::new(Vec::new()),
            history: Mutex::new(VecDeque::new()),
            providers: Mutex::new(Vec::new()),
        };
        state.push_history(true, String::new());
        state
    }

    pub(super) fn record_success(&self) {
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        self.last_success_unix_ms
            .store(now_unix_ms(), Ordering::Relaxed);
        self.last_success.store(true, Ordering::Relaxed);
        self.push_history(true, String::new());
    }

    fn push_history(&self, ok: bool, error: String) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(ReloadEvent {
            unix_ms: now_unix_ms(),
            ok,
            error,
        });
    }

    /// The last reloads, oldest first.
    pub fn history(&self) -> Vec<ReloadEvent> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.iter().cloned().collect()
    }

    /// The errors of the last refused reload (kept after a later success, like
    /// `last_error`).
    pub fn last_errors(&self) -> Vec<ConfigError> {
        self.last_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The error text stays after a later success: "what went wrong last time" is
    /// still worth showing; `last_reload_success` says whether it is current.
    pub(super) fn record_failure(&self, errors: &ConfigErrors) {
        let error = errors.to_string();
        self.reloads_failed.fetch_add(1, Ordering::Relaxed);
        self.last_success.store(false, Ordering::Relaxed);
        self.push_history(false, error.clone());
        *self.last_errors.lock().unwrap_or_else(|e| e.into_inner()) = errors.0.clone();
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// Reloads that published a new generation (the first config not counted).
    pub fn reloads_ok(&self) -> u64 {
        self.reloads_ok.load(Ordering::Relaxed)
    }

    /// Reloads refused because the config did not validate.
    pub fn reloads_failed(&self) -> u64 {
        self.reloads_failed.load(Ordering::Relaxed)
    }

    pub fn last_reload_success(&self) -> bool {
        self.last_success.load(Ordering::Relaxed)
    }

    pub fn last_success_unix_ms(&self) -> u64 {
        self.last_success_unix_ms.load(Ordering::Relaxed)
    }

    pub(super) fn add_provider(&self, name: &'static str, up: Arc<AtomicBool>) {
        let mut p = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        p.push((name, up));
    }

    /// Every KV provider and whether its store answered last time it was asked.
    pub fn providers_up(&self) -> Vec<(&'static str, bool)> {
        let p = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        p.iter()
            .map(|(name, up)| (*name, up.load(Ordering::Relaxed)))
            .collect()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
