//! Access log on real requests: both formats, each filter, field modes, whole lines
//! from two workers under concurrent load, and SIGUSR1 reopening after a rotation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::two_apps;
use crate::common::client::{get, request};
use crate::common::scripted::ok;
use crate::common::*;

/// A proxy whose access log goes to `<tmp>/access.log`, with `section` lines added
/// under `[accessLog]`.
fn start(dynamic: &str, section: &str, cores: usize) -> (Proxy, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut cfg = ProxyConfig::new(dynamic);
    cfg.cores = Some(cores);
    cfg.extra_static = format!("[accessLog]\nfilePath = \"{}\"\n{section}", path.display());
    (Proxy::start(&cfg), dir, path)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits for at least `n` lines (workers flush on a 50 ms tick).
fn wait_lines(path: &Path, n: usize) -> Vec<String> {
    poll_until(Duration::from_secs(10), Duration::from_millis(20), || {
        let l = lines(path);
        (l.len() >= n).then_some(l)
    })
    .unwrap_or_else(|| {
        panic!(
            "fewer than {n} lines in {}: {:?}",
            path.display(),
            lines(path)
        )
    })
}

fn json_lines(path: &Path, n: usize) -> Vec<Value> {
    wait_lines(path, n)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn access_log_common_format() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let (p, _dir, path) = start(&two_apps(&a, &b), "format = \"common\"\n", 1);
    let r = request(
        p.addr(),
        "GET /path?x=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: ua/1\r\nReferer: http://ref/\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(get(p.addr(), "nowhere.test", "/nope").status, 404);
    let l = wait_lines(&path, 2);
    let first = &l[0];
    assert!(first.starts_with("127.0.0.1 - - ["), "{first}");
    let want = format!(
        "\"GET /path?x=1 HTTP/1.1\" 200 {} \"http://ref/\" \"ua/1\" 1 \"a@file\" \"{}\" ",
        r.body.len(),
        a.url()
    );
    assert!(first.contains(&want), "{first}\nwanted {want}");
    assert!(first.ends_with("ms"), "{first}");
    let second = &l[1];
    assert!(
        second.contains("\"GET /nope HTTP/1.1\" 404 ")
            && second.contains("\"-\" \"-\" 2 \"-\" \"-\""),
        "{second}"
    );
}

#[test]
fn access_log_json_fields_and_headers() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let fields = "format = \"json\"\n[accessLog.fields]\ndefaultMode = \"keep\"\n\
                  [accessLog.fields.names]\nClientUsername = \"drop\"\nStartLocal = \"drop\"\n\
                  [accessLog.fields.headers]\ndefaultMode = \"drop\"\n\
                  [accessLog.fields.headers.names]\nUser-Agent = \"keep\"\nAuthorization = \"redact\"\n";
    let (p, _dir, path) = start(&two_apps(&a, &b), fields, 1);
    let raw = "POST /submit HTTP/1.1\r\nHost: b.test\r\nUser-Agent: tester\r\n\
               Authorization: Bearer secret\r\nX-Other: 1\r\nContent-Length: 5\r\n\r\nhello";
    let r = request(p.addr(), raw);
    assert_eq!(r.status, 200);
    let v = &json_lines(&path, 1)[0];
    assert_eq!(v["RequestMethod"], "POST");
    assert_eq!(v["RequestPath"], "/submit");
    assert_eq!(v["RequestHost"], "b.test");
    assert_eq!(v["RequestProtocol"], "HTTP/1.1");
    assert_eq!(v["DownstreamStatus"], 200);
    assert_eq!(v["OriginStatus"], 200);
    assert_eq!(v["DownstreamContentSize"], r.body.len() as u64);
    assert_eq!(v["RequestContentSize"], 5);
    assert_eq!(v["RouterName"], "b@file");
    assert_eq!(v["ServiceName"], "svc_b@file");
    assert_eq!(v["ServiceURL"], b.url());
    assert_eq!(v["ClientHost"], "127.0.0.1");
    assert_eq!(v["entryPointName"], "web");
    assert_eq!(v["RetryAttempts"], 0);
    assert!(v["Duration"].as_u64().unwrap() > 0, "{v}");
    assert!(v["StartUTC"].as_str().unwrap().ends_with('Z'), "{v}");
    assert_eq!(v["request_User-Agent"], "tester");
    assert_eq!(v["request_Authorization"], "REDACTED");
    assert!(v.get("request_X-Other").is_none(), "{v}");
    assert!(
        v.get("ClientUsername").is_none() && v.get("StartLocal").is_none(),
        "{v}"
    );
}

#[test]
fn access_log_filters_status_duration_and_retries() {
    let fast = Upstream::echo("fast");
    let slow = Upstream::start("slow", Behavior::echo().delay(Duration::from_millis(300)));
    // Answers the first request of each connection; closes on the second without
    // answering, which a reused connection's GET survives by one retry.
    let flaky = Scripted::start(|req, index| match index {
        0 => vec![Step::Send(ok(&format!("for {}", req.target)))],
        _ => vec![Step::Close],
    });
    let dynamic = format!(
        "{}{}{}{}{}{}",
        config::router("fast", "Host(`fast.test`)", "fast"),
        config::lb_service("fast", &[fast.url()]),
        config::router("slow", "Host(`slow.test`)", "slow"),
        config::lb_service("slow", &[slow.url()]),
        config::router("flaky", "Host(`flaky.test`)", "flaky"),
        config::lb_service("flaky", &[flaky.url()]),
    );
    let section = "format = \"json\"\n[accessLog.filters]\nstatusCodes = [\"404\", \"500-599\"]\n\
                   retryAttempts = true\nminDuration = \"200ms\"\n";
    let (p, _dir, path) = start(&dynamic, section, 1);
    assert_eq!(get(p.addr(), "fast.test", "/fast").status, 200); // filtered out
    assert_eq!(get(p.addr(), "none.test", "/missing").status, 404); // status filter
    assert_eq!(get(p.addr(), "slow.test", "/slow").status, 200); // minDuration
    // Same client connection: the second request goes out on the pooled upstream
    // connection, which closes without answering, and is retried once on a
    // fresh one.
    let mut c = Client::connect(p.addr());
    let req = "GET /flaky HTTP/1.1\r\nHost: flaky.test\r\n\r\n";
    assert_eq!(c.request(req).status, 200); // filtered out (fast, 200, no retry)
    assert_eq!(c.request(req).status, 200); // retryAttempts
    assert_eq!(flaky.connections(), 2);
    let l = json_lines(&path, 3);
    std::thread::sleep(Duration::from_millis(300));
    let l = if lines(&path).len() > l.len() {
        json_lines(&path, 4)
    } else {
        l
    };
    let paths: Vec<&str> = l
        .iter()
        .map(|v| v["RequestPath"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/missing", "/slow", "/flaky"], "{l:?}");
    assert!(l[1]["Duration"].as_u64().unwrap() >= 200_000_000);
    assert_eq!(l[2]["RetryAttempts"], 1);
}

#[test]
fn access_log_lines_stay_whole_with_two_workers() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let section = "format = \"json\"\nbufferingSize = 16\n\
                   [accessLog.fields.headers]\ndefaultMode = \"keep\"\n";
    let (p, _dir, path) = start(&two_apps(&a, &b), section, 2);
    let (threads, per) = (8, 150);
    let addr = p.addr();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                // New connections spread over both workers' listeners.
                for i in 0..per {
                    let mut c = Client::connect(addr);
                    let pad = "x".repeat(50 + (i * 37 + t * 11) % 900);
                    let raw =
                        format!("GET /t{t}/r{i} HTTP/1.1\r\nHost: a.test\r\nX-Pad: {pad}\r\n\r\n");
                    assert_eq!(c.request(&raw).status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = threads * per;
    let l = json_lines(&path, total);
    assert_eq!(l.len(), total, "one line per request");
    let mut seen = std::collections::HashSet::new();
    for v in &l {
        let path = v["RequestPath"].as_str().unwrap().to_string();
        let pad = v["request_X-Pad"].as_str().unwrap();
        assert!(pad.len() >= 50 && pad.bytes().all(|b| b == b'x'), "{v}");
        assert!(seen.insert(path), "duplicate line {v}");
    }
    let workers: std::collections::HashSet<_> = p.listening().iter().map(|l| l.2).collect();
    assert_eq!(workers.len(), 2, "two workers listening");
}

#[test]
fn access_log_reopens_on_sigusr1() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let (p, dir, path) = start(&two_apps(&a, &b), "", 1);
    assert_eq!(get(p.addr(), "a.test", "/before").status, 200);
    wait_lines(&path, 1);
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    p.signal(libc::SIGUSR1);
    assert!(
        p.wait_log("access log reopened", Duration::from_secs(5)),
        "{}",
        p.log_text()
    );
    assert_eq!(get(p.addr(), "a.test", "/after").status, 200);
    let new = wait_lines(&path, 1);
    assert_eq!(new.len(), 1);
    assert!(new[0].contains("/after"), "{new:?}");
    let old = lines(&rotated);
    assert_eq!(old.len(), 1);
    assert!(old[0].contains("/before"), "{old:?}");
    // SIGUSR1 must not have killed it (its default action).
    assert!(p.rss_kib().is_some(), "proxyd died on SIGUSR1");
}
