//! The dashboard in a real browser: headless Chromium loads `/dashboard/`, runs its
//! scripts against the live API, and the rendered DOM must show the routers,
//! services, server health and request counts. The screenshot is kept at
//! `target/observe-dashboard.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn headless(bin: &str, profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium")
}

#[test]
fn dashboard_renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        missing("chromium");
        return;
    };
    let a = Upstream::echo("a");
    let b = Upstream::start("b", Behavior::fixed(503, b"down"));
    let cfg = with_admin(
        ProxyConfig::new(&two_apps(&a, &b)),
        "[api]\ninsecure = true\n[metrics.prometheus]\n",
    );
    let p = Proxy::start(&cfg);
    for _ in 0..7 {
        assert_eq!(get(p.addr(), "a.test", "/").status, 200);
    }
    for _ in 0..3 {
        assert_eq!(get(p.addr(), "b.test", "/").status, 503);
    }
    // Wait until the workers published the counts the page will read.
    poll_until(Duration::from_secs(10), Duration::from_millis(100), || {
        let (_, s) = api(&p, "/api/proxyd/stats");
        let n = s["routers"]
            .as_array()?
            .iter()
            .find(|r| r["name"] == "a@file")?["requests"]
            .as_u64()?;
        (n == 7).then_some(())
    })
    .expect("stats published");
    let url = format!("http://{}/dashboard/", p.addr_of("traefik"));
    let profile = tempfile::tempdir().unwrap();
    let dom = headless(bin, profile.path(), &["--dump-dom"], &url);
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    for want in [
        "a@file",
        "b@file",
        "svc_a@file",
        "svc_b@file",
        "Host(`a.test`)",
        ">UP<",
        "web",
        "traefik",
    ] {
        assert!(html.contains(want), "dashboard DOM lacks {want:?}:\n{html}");
    }
    assert!(
        html.contains("<span id=\"status\">updated "),
        "the page never loaded its data:\n{html}"
    );
    // Request counts per router, in their table cells.
    assert!(
        html.contains("<td class=\"num\">7</td>"),
        "router a's 7 requests:\n{html}"
    );
    assert!(
        html.contains("<td class=\"num\">3</td>"),
        "router b's 3 requests:\n{html}"
    );
    let shot = screenshot_path();
    let _ = std::fs::remove_file(&shot);
    let out = headless(
        bin,
        profile.path(),
        &[&format!("--screenshot={}", shot.display())],
        &url,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot looks empty"
    );
    eprintln!("dashboard screenshot: {}", shot.display());
}

/// `target/observe-dashboard.png` (next to the build output, kept after the run).
fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).unwrap();
    target.join("observe-dashboard.png")
}
