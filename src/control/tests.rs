//! The reloader against real files: what publishes, what is refused, what is
//! recorded, and that a burst of writes becomes one reload.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::reloader::{Outcome, Reloader};
use super::*;
use crate::config;

fn respond(body: &str) -> String {
    format!(
        "[http.routers.r]\nrule = 'Host(`a.test`)'\nservice = \"s\"\n\
         [http.services.s.respond]\nbody = \"{body}\"\n"
    )
}

/// A static file with one entry point and a watched provider directory.
fn static_cfg(dir: &Path, throttle: &str) -> config::StaticConfig {
    let dynamic = dir.join("dynamic");
    std::fs::create_dir_all(&dynamic).unwrap();
    let file = dir.join("proxyd.toml");
    std::fs::write(
        &file,
        format!(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[providers]\n\
             providersThrottleDuration = \"{throttle}\"\n[providers.file]\ndirectory = \"dynamic\"\n"
        ),
    )
    .unwrap();
    config::load_static(&file).unwrap()
}

fn reloader(dir: &Path) -> Reloader {
    let cfg = static_cfg(dir, "50ms");
    std::fs::write(dir.join("dynamic/a.toml"), respond("one")).unwrap();
    let (snapshot, seen) = load_first(&cfg).unwrap();
    Reloader {
        cfg,
        published: Published::new(snapshot),
        state: Arc::new(ControlState::new()),
        fingerprint: seen.fingerprint,
        kv: Default::default(),
    }
}

#[test]
fn throttle_key_is_read_and_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = static_cfg(tmp.path(), "75ms");
    assert_eq!(cfg.providers_throttle, Duration::from_millis(75));
    assert!(
        cfg.provider.as_ref().unwrap().watch,
        "watch defaults to true"
    );
    let file = tmp.path().join("bare.toml");
    std::fs::write(&file, "[entryPoints.web]\naddress = \":0\"\n").unwrap();
    let bare = config::load_static(&file).unwrap();
    assert_eq!(bare.providers_throttle, config::DEFAULT_PROVIDERS_THROTTLE);
}

#[test]
fn publishes_changes_refuses_errors_and_keeps_count() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = reloader(tmp.path());
    let file = tmp.path().join("dynamic/a.toml");

    assert_eq!(r.reload(false), Outcome::Unchanged, "nothing changed yet");
    std::fs::write(&file, respond("one")).unwrap();
    assert_eq!(r.reload(false), Outcome::Unchanged, "same bytes rewritten");

    std::fs::write(&file, respond("two")).unwrap();
    assert_eq!(r.reload(false), Outcome::Published(2));
    assert_eq!(r.published.generation(), 2);
    assert_eq!(r.state.reloads_ok(), 1);

    std::fs::write(
        &file,
        "[http.routers.r]\nrule = 'Host(`a.test`)'\nservice = \"nope\"\n",
    )
    .unwrap();
    assert_eq!(r.reload(false), Outcome::Refused);
    assert_eq!(
        r.published.generation(),
        2,
        "last good config keeps serving"
    );
    assert!(!r.state.last_reload_success());
    let error = r.state.last_error().unwrap();
    assert!(
        error.contains("a.toml") && error.contains("http.routers.r.service"),
        "{error}"
    );
    assert!(error.contains("nope"), "{error}");
    // The same broken files again: already reported, not counted twice.
    assert_eq!(r.reload(false), Outcome::Unchanged);
    assert_eq!(r.state.reloads_failed(), 1);

    std::fs::write(&file, respond("three")).unwrap();
    assert_eq!(r.reload(false), Outcome::Published(3));
    assert!(r.state.last_reload_success());
    assert_eq!((r.state.reloads_ok(), r.state.reloads_failed()), (2, 1));

    // SIGHUP republishes unchanged files (server host names are resolved again).
    assert_eq!(r.reload(true), Outcome::Published(4));
}

/// The throttle of the burst test. `start` asks for a catch-up look, which opens
/// a window at once: a burst written after `start` is one reload only if it ends
/// within that window, so an attempt whose burst took longer (the test thread
/// descheduled on a loaded machine) proves nothing and is tried again.
const BURST_THROTTLE: Duration = Duration::from_millis(300);

#[test]
fn a_burst_of_writes_is_one_reload() {
    for _ in 0..5 {
        if burst_in_one_window() {
            return;
        }
    }
    panic!("no burst of 5 writes fit in a {BURST_THROTTLE:?} window in 5 tries");
}

/// One try; false when the burst outlasted the window that started with it.
fn burst_in_one_window() -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = static_cfg(tmp.path(), &format!("{}ms", BURST_THROTTLE.as_millis()));
    let file = tmp.path().join("dynamic/a.toml");
    std::fs::write(&file, respond("v0")).unwrap();
    let (snapshot, fingerprint) = load_first(&cfg).unwrap();
    let published = Published::new(snapshot);
    // Before `start`: its window opens after this instant, never before.
    let t0 = Instant::now();
    let control = start(cfg, published.clone(), fingerprint).unwrap();
    for i in 1..=5 {
        std::fs::write(&file, respond(&format!("v{i}"))).unwrap();
    }
    if t0.elapsed() >= BURST_THROTTLE {
        control.stop();
        return false;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while published.generation() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Settle for a few throttle windows: nothing more may be published.
    std::thread::sleep(BURST_THROTTLE * 2);
    assert_eq!(published.generation(), 2, "one reload for the burst");
    assert_eq!(control.state().reloads_ok(), 1);
    let snap = published.load();
    let crate::config::ServiceKind::Respond(r) = &snap.services[0].kind else {
        panic!("not a respond service")
    };
    assert_eq!(r.body, b"v5", "the reload saw the last write");
    control.stop();
    true
}

/// Guards the start-up catch-up look going through the throttle: a file caught
/// mid-write when the watcher starts (truncated, its bytes not yet rewritten)
/// was published at once as an empty configuration, every route gone until the
/// next reload. Now the look waits a throttle window like any event and sees
/// the file whole: the same bytes, so nothing is published.
#[test]
fn a_file_caught_mid_write_at_start_is_not_published() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = static_cfg(tmp.path(), "300ms");
    let file = tmp.path().join("dynamic/a.toml");
    std::fs::write(&file, respond("v0")).unwrap();
    let (snapshot, fingerprint) = load_first(&cfg).unwrap();
    let published = Published::new(snapshot);
    // The writer has truncated the file and not written it yet.
    std::fs::write(&file, "").unwrap();
    let control = start(cfg, published.clone(), fingerprint).unwrap();
    std::fs::write(&file, respond("v0")).unwrap();
    // Several throttle windows: time for any (wrong) reload to happen.
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(
        published.generation(),
        1,
        "a half-written file was published"
    );
    control.stop();
}
