//! Observability over real sockets: access-log formats, filters and line integrity,
//! Prometheus values checked with a real text-format parser, the API documents,
//! `/ping` during a graceful stop, and the dashboard in headless Chromium.

mod access_log;
mod api;
mod dashboard;
mod metrics;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::client::get;
use crate::common::config::{lb_service, router};
use crate::common::*;

/// The admin entry point every test here adds, plus the given static sections.
pub fn with_admin(cfg: ProxyConfig, sections: &str) -> ProxyConfig {
    let mut cfg = cfg.entry_point(EntryPoint::new("traefik"));
    cfg.extra_static.push_str(sections);
    cfg
}

/// Routers `a` (Host a.test) and `b` (Host b.test) to one upstream each.
pub fn two_apps(a: &Upstream, b: &Upstream) -> String {
    format!(
        "{}{}{}{}",
        router("a", "Host(`a.test`)", "svc_a"),
        lb_service("svc_a", &[a.url()]),
        router("b", "Host(`b.test`)", "svc_b"),
        lb_service("svc_b", &[b.url()]),
    )
}

/// A tool the test needs is missing: fails the test in CI (`CI=true`), prints a
/// skip message elsewhere so the caller can return.
pub fn missing(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI (.ci/run installs it)");
    }
    eprintln!("SKIPPED: {what} is not installed here; CI runs this test");
}

/// One parsed sample: (name, labels, value).
pub type Sample = (String, BTreeMap<String, String>, f64);

/// Parses exposition text with Python's `prometheus_client` parser (the reference
/// implementation); `None` when that parser is not installed.
pub fn parse_prometheus(text: &str) -> Option<Vec<Sample>> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/observe/prom_parse.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if out.status.code() == Some(3) {
        return None;
    }
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut samples = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.splitn(3, '\t');
        let (name, labels, value) = (parts.next()?, parts.next()?, parts.next()?);
        let labels = labels
            .split('\u{1}')
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        samples.push((name.to_string(), labels, value.parse().ok()?));
    }
    Some(samples)
}

/// Sum of the samples named `name` whose labels include all of `want`.
pub fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

/// Scrapes `/metrics` on the admin entry point until `done` holds (workers publish
/// about once a second), returning the last text.
pub fn scrape_until(p: &Proxy, done: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    poll_until(Duration::from_secs(10), Duration::from_millis(200), || {
        let r = get(p.addr_of("traefik"), "admin", "/metrics");
        assert_eq!(r.status, 200);
        last = r.text();
        done(&last).then_some(())
    });
    last
}

/// GET on the admin entry point, body parsed as JSON.
pub fn api(p: &Proxy, path: &str) -> (u16, serde_json::Value) {
    let r = get(p.addr_of("traefik"), "admin", path);
    let v = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, v)
}
