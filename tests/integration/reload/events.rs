//! Each way a config file changes on disk is exactly one reload: rename-over, a
//! ConfigMap `..data` symlink swap, delete-and-recreate; a touch or a rewrite with
//! the same bytes is none; SIGHUP always is one. Counted after a settle period
//! of several throttle windows, so a second (spurious) reload would show.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use super::{RELOAD_LIMIT, RELOADED, respond, write_renamed};
use crate::common::client::get;
use crate::common::*;

const THROTTLE: &str = "100ms";
/// Several throttle windows: long enough for a spurious second reload to happen.
const SETTLE: Duration = Duration::from_millis(800);

fn start(cfg: ProxyConfig) -> Proxy {
    Proxy::start(&cfg.watched(Some(THROTTLE)))
}

/// Waits for `n` reloads, lets the watcher settle, and checks there were exactly `n`.
fn expect_reloads(p: &Proxy, n: usize, what: &str) {
    if n > 0 {
        assert!(
            p.wait_log_count(RELOADED, n, RELOAD_LIMIT),
            "{what}: {n} reload(s) expected; log:\n{}",
            p.log_text()
        );
    }
    std::thread::sleep(SETTLE);
    assert_eq!(
        p.log_count(RELOADED),
        n,
        "{what}: reloads counted; log:\n{}",
        p.log_text()
    );
}

fn body(p: &Proxy) -> String {
    get(p.addr(), "app.test", "/").text()
}

#[test]
fn rename_over_is_one_reload() {
    let p = start(ProxyConfig::new(&respond("app", "app.test", "v1")));
    write_renamed(
        &p.dynamic_dir().join("dynamic.toml"),
        &respond("app", "app.test", "v2"),
    );
    expect_reloads(&p, 1, "rename over");
    assert_eq!(body(&p), "v2");
}

#[test]
fn delete_and_recreate_is_one_reload() {
    let p = start(ProxyConfig::new(&respond("app", "app.test", "v1")));
    let file = p.dynamic_dir().join("dynamic.toml");
    fs::remove_file(&file).unwrap();
    fs::write(&file, respond("app", "app.test", "v2")).unwrap();
    expect_reloads(&p, 1, "delete and recreate");
    assert_eq!(body(&p), "v2");
}

/// kubelet's layout: `app.toml -> ..data/app.toml`, `..data -> ..v1`.
fn configmap_layout(dir: &Path) {
    fs::create_dir(dir.join("..v1")).unwrap();
    fs::write(dir.join("..v1/app.toml"), respond("app", "app.test", "v1")).unwrap();
    symlink("..v1", dir.join("..data")).unwrap();
    symlink("..data/app.toml", dir.join("app.toml")).unwrap();
}

#[test]
fn configmap_symlink_swap_is_one_reload() {
    let mut cfg = ProxyConfig::new("");
    cfg.dynamic.clear();
    cfg.layout = Some(configmap_layout);
    let p = start(cfg);
    assert_eq!(body(&p), "v1", "the ConfigMap layout is read once");
    let dir = p.dynamic_dir();
    // kubelet's AtomicWriter: new timestamped dir, new link, rename over `..data`,
    // then remove the old dir.
    fs::create_dir(dir.join("..v2")).unwrap();
    fs::write(dir.join("..v2/app.toml"), respond("app", "app.test", "v2")).unwrap();
    symlink("..v2", dir.join("..data_tmp")).unwrap();
    fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    fs::remove_dir_all(dir.join("..v1")).unwrap();
    expect_reloads(&p, 1, "..data swap");
    assert_eq!(body(&p), "v2");
}

#[test]
fn touch_is_no_reload_and_sighup_is_one() {
    let text = respond("app", "app.test", "v1");
    let p = start(ProxyConfig::new(&text));
    let file = p.dynamic_dir().join("dynamic.toml");
    fs::write(&file, &text).unwrap();
    let f = fs::File::options().append(true).open(&file).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    drop(f);
    expect_reloads(&p, 0, "same bytes rewritten and touched");
    p.signal(libc::SIGHUP);
    expect_reloads(&p, 1, "SIGHUP");
    assert_eq!(body(&p), "v1");
}

#[test]
fn sighup_reloads_without_watch() {
    let p = Proxy::start(&ProxyConfig::new(&respond("app", "app.test", "v1")));
    assert!(
        !p.log_contains("watching "),
        "watch = false starts no watcher"
    );
    let file = p.dynamic_dir().join("dynamic.toml");
    fs::write(&file, respond("app", "app.test", "v2")).unwrap();
    std::thread::sleep(SETTLE);
    assert_eq!(body(&p), "v1", "not watched: no reload on change");
    p.signal(libc::SIGHUP);
    assert!(p.wait_log(&format!("{RELOADED}2 "), RELOAD_LIMIT));
    assert_eq!(body(&p), "v2");
}

#[test]
fn single_file_provider_sees_rename_over_and_ignores_neighbours() {
    let mut cfg = ProxyConfig::new(&respond("app", "app.test", "v1"));
    cfg.filename = Some("dynamic.toml".into());
    let p = start(cfg);
    let dir = p.dynamic_dir();
    fs::write(dir.join("neighbour.toml"), "not = 'read'").unwrap();
    expect_reloads(&p, 0, "a neighbour file");
    write_renamed(&dir.join("dynamic.toml"), &respond("app", "app.test", "v2"));
    expect_reloads(&p, 1, "rename over the file");
    assert_eq!(body(&p), "v2");
}

/// Regression: `ready` was logged before the signal handlers were installed, so a
/// SIGHUP sent on `ready` could meet the default action and kill proxyd (seen as a
/// flaky metrics_count_reloads). Sent several times at once, it must still reload.
#[test]
fn sighup_at_ready_reloads_instead_of_killing() {
    let mut p = Proxy::spawn(&ProxyConfig::new(&respond("app", "app.test", "v1")));
    // Signal the moment `ready` shows (`Proxy::start`'s 10 ms poll misses the window).
    let ready = poll_until(Duration::from_secs(30), Duration::ZERO, || {
        p.log_contains("ready workers=").then_some(())
    });
    assert!(ready.is_some(), "not ready; log:\n{}", p.log_text());
    for _ in 0..3 {
        p.signal(libc::SIGHUP);
    }
    assert!(
        p.wait_log(RELOADED, RELOAD_LIMIT),
        "no reload after SIGHUP; log:\n{}",
        p.log_text()
    );
    assert!(p.try_exit().is_none(), "SIGHUP at ready killed proxyd");
}
