//! retry against Traefik's behaviour: a request whose server refused the
//! connection or reset it before answering is sent to the balancer's next
//! pick, counted in the access log's RetryAttempts, with the backoff between
//! attempts; nothing is retried once a response byte reached the client, nor a
//! request whose body streamed to the failed server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::client::{Client, get};
use crate::common::config::{lb_service_with, router};
use crate::common::scripted::send;
use crate::common::*;

/// A proxy routing every request through `retry` (with `opts`) to a service of
/// `urls`, its JSON access log at the returned path.
pub(crate) fn start(urls: &[String], opts: &str) -> (Proxy, tempfile::TempDir, PathBuf) {
    start_with(urls, opts, "")
}

/// [`start`] with `lb` lines in the load balancer's table.
fn start_with(urls: &[String], opts: &str, lb: &str) -> (Proxy, tempfile::TempDir, PathBuf) {
    let dynamic = format!(
        "{}middlewares = [\"again\"]\n{}[http.middlewares.again.retry]\n{opts}\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service_with("s", urls, lb),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut cfg = ProxyConfig::new(&dynamic);
    cfg.extra_static = format!(
        "[accessLog]\nfilePath = \"{}\"\nformat = \"json\"\n",
        path.display()
    );
    (Proxy::start(&cfg), dir, path)
}

/// The first `n` access log lines, once written (workers flush on a 50 ms tick).
pub(crate) fn log_lines(path: &Path, n: usize) -> Vec<Value> {
    let read = || {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<Value>>()
    };
    poll_until(Duration::from_secs(10), Duration::from_millis(20), || {
        let l = read();
        (l.len() >= n).then_some(l)
    })
    .unwrap_or_else(|| panic!("fewer than {n} access log lines: {:?}", read()))
}

pub(crate) fn retries(lines: &[Value]) -> Vec<u64> {
    lines
        .iter()
        .map(|v| v["RetryAttempts"].as_u64().unwrap())
        .collect()
}

#[test]
fn retry_reaches_the_next_server_after_a_reset_and_counts_it() {
    let reset = Upstream::start("reset", Behavior::reset_without_response());
    let good = Upstream::echo("good");
    // Without passHostHeader each server gets its own Host: the head is
    // written anew for the next server.
    let lb = "passHostHeader = false\n";
    let (p, _dir, log) = start_with(&[reset.url(), good.url()], "attempts = 3", lb);
    // Round robin over both: whichever comes first, every request ends at
    // the healthy server.
    for i in 0..4 {
        let r = get(p.addr(), "app.test", &format!("/{i}"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream().as_deref(), Some("good"));
    }
    let host = good.addr().to_string();
    assert!(
        good.requests()
            .iter()
            .all(|s| s.header("host") == Some(&host)),
        "{:?}",
        good.requests()
    );
    let lines = log_lines(&log, 4);
    let total: u64 = retries(&lines).iter().sum();
    assert!(reset.connections() >= 2, "the reset server was tried");
    assert_eq!(total, reset.connections() as u64, "{lines:?}");
    assert!(retries(&lines).iter().all(|&n| n <= 1), "{lines:?}");
}

#[test]
fn retry_sends_even_a_streamed_post_again_when_the_connection_was_refused() {
    let good = Upstream::echo("good");
    let (p, _dir, log) = start(&[refused_url(), good.url()], "attempts = 2");
    // Traefik's rule: a request that never reached a server is sent again,
    // whatever its method and body.
    for _ in 0..2 {
        let mut c = Client::connect(p.addr());
        let r = c.request(
            "POST /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let seen = good.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.body == b"hello"), "{seen:?}");
    // Round robin: at least one of the two went to the refused server first.
    let counts = retries(&log_lines(&log, 2));
    assert!(counts.iter().all(|&n| n <= 1), "{counts:?}");
    assert!(counts.iter().sum::<u64>() >= 1, "{counts:?}");
}

#[test]
fn retry_waits_its_backoff_between_attempts_then_answers_the_last_error() {
    let (p, _dir, log) = start(
        &[refused_url()],
        "attempts = 3\ninitialInterval = \"200ms\"",
    );
    let t = Instant::now();
    let r = get(p.addr(), "app.test", "/");
    let took = t.elapsed();
    assert_eq!(r.status, 502);
    // Two waits: 200 ms and 200·√2 ms, each ±50%.
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_millis(2000), "{took:?}");
    assert_eq!(retries(&log_lines(&log, 1)), [2]);
}

#[test]
fn retry_stops_once_a_response_byte_reached_the_client() {
    let cut = Scripted::start(|_, _| {
        vec![
            send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"),
            Step::Reset,
        ]
    });
    let (p, _dir, log) = start(&[cut.url()], "attempts = 3");
    let mut s = TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.ends_with("partial"),
        "only what the server sent: {text}"
    );
    assert_eq!(retries(&log_lines(&log, 1)), [0]);
    assert_eq!(cut.connections(), 1, "not sent again");
}

#[test]
fn retry_does_not_resend_a_request_whose_body_streamed_away() {
    // Reads the whole body, then resets without answering.
    let eater = Scripted::start(|_, _| vec![Step::Reset]);
    let (p, _dir, log) = start(&[eater.url()], "attempts = 3");
    let mut c = Client::connect(p.addr());
    // PUT is idempotent: only the streamed body keeps it from a retry.
    let r = c.request(
        "PUT /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 502);
    assert_eq!(retries(&log_lines(&log, 1)), [0]);
    assert_eq!(eater.connections(), 1);
}

#[test]
fn retry_stops_once_its_timeout_has_passed() {
    // Every server refuses: 100 attempts about 50 ms apart would take ~5 s;
    // `timeout` ends them after 300 ms, and the last failure is the answer.
    let (p, _dir, log) = start(
        &[refused_url(), refused_url()],
        "attempts = 100\ninitialInterval = \"50ms\"\ntimeout = \"300ms\"",
    );
    let started = Instant::now();
    let r = get(p.addr(), "app.test", "/");
    let took = started.elapsed();
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let n = retries(&log_lines(&log, 1))[0];
    assert!((2..40).contains(&n), "{n} retries");
}
