//! buffering against Traefik's (oxy's) behaviour: a body over
//! `maxRequestBodyBytes` is answered 413 and never reaches the service; a
//! buffered body goes upstream whole with a Content-Length, past
//! `memRequestBodyBytes` through a temporary file that has no name and is gone
//! once the request ends, with proxyd's memory bounded; `retryExpression`
//! replays a whole request to another server.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::client::Client;
use crate::common::config::{lb_service, router};
use crate::common::*;

/// A proxy routing every request through `buffering` (with `opts`) to a
/// service of `urls`, its temporary files under `tmp`.
fn start(urls: &[String], opts: &str, tmp: &Path) -> Proxy {
    let dynamic = format!(
        "{}middlewares = [\"buf\"]\n{}[http.middlewares.buf.buffering]\n{opts}\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", urls),
    );
    let mut cfg = ProxyConfig::new(&dynamic);
    cfg.env.push(("TMPDIR".into(), tmp.display().to_string()));
    Proxy::start(&cfg)
}

/// The descriptors proxyd holds on files under `dir` (its spool files show
/// as `dir/#<inode> (deleted)`).
pub(crate) fn fds_under(p: &Proxy, dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{}/fd", p.pid())) else {
        return 0;
    };
    entries
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.starts_with(dir))
        .count()
}

/// Sends a POST of `len` pattern bytes, chunked (so its length is not known
/// before it is read), and returns the response.
pub(crate) fn post_pattern(
    addr: std::net::SocketAddr,
    len: u64,
) -> crate::common::client::Response {
    let mut c = Client::connect(addr);
    c.send(b"POST /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut pat = Pattern::new(len);
    while let Some(chunk) = pat.next_chunk() {
        c.send(format!("{:x}\r\n", chunk.len()).as_bytes());
        c.send(chunk);
        c.send(b"\r\n");
    }
    c.send(b"0\r\n\r\n");
    c.deadline(Duration::from_secs(60));
    c.read_response()
}

#[test]
fn buffering_answers_413_past_max_request_body_bytes_before_the_service() {
    let up = Upstream::echo("up");
    let tmp = tempfile::tempdir().unwrap();
    let p = start(&[up.url()], "maxRequestBodyBytes = 1000", tmp.path());
    // A declared length over the limit: refused before reading.
    let mut c = Client::connect(p.addr());
    let body = "x".repeat(1001);
    let r = c.request(&format!(
        "POST /a HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1001\r\n\r\n{body}"
    ));
    assert_eq!(r.status, 413, "{}", r.text());
    // A chunked body is counted as it is read.
    let mut c = Client::connect(p.addr());
    let r = c.request(&format!(
        "POST /b HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n{body}\r\n0\r\n\r\n"
    ));
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(up.heads(), 0, "a refused request reached the service");
    // Within the limit: the upstream gets it with a Content-Length.
    let r = post_pattern(p.addr(), 1000);
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.only_request();
    assert!(!seen.chunked, "{seen:?}");
    assert_eq!(seen.header("content-length"), Some("1000"));
    assert_eq!(seen.body_fnv, Pattern::fnv(1000));
}

#[test]
fn buffering_spills_past_mem_request_body_bytes_to_an_unlinked_file() {
    const LEN: u64 = 4 * 1024 * 1024;
    // The upstream holds its answer, so the spool is still open while we look.
    let up = Upstream::start("up", Behavior::echo().delay(Duration::from_millis(1500)));
    let tmp = tempfile::tempdir().unwrap();
    let p = start(&[up.url()], "memRequestBodyBytes = 65536", tmp.path());
    let addr = p.addr();
    let client = std::thread::spawn(move || post_pattern(addr, LEN));
    let seen_open = poll_until(Duration::from_secs(20), Duration::from_millis(10), || {
        (fds_under(&p, tmp.path()) > 0).then_some(())
    });
    assert!(
        seen_open.is_some(),
        "no temporary file was opened under TMPDIR"
    );
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(names.is_empty(), "the temporary file has a name: {names:?}");
    let r = client.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.only_request();
    assert!(!seen.chunked);
    assert_eq!(
        seen.header("content-length"),
        Some(LEN.to_string().as_str())
    );
    assert_eq!(seen.body_len, LEN);
    assert_eq!(
        seen.body_fnv,
        Pattern::fnv(LEN),
        "body corrupted on the way"
    );
    let closed = poll_until(Duration::from_secs(5), Duration::from_millis(10), || {
        (fds_under(&p, tmp.path()) == 0).then_some(())
    });
    assert!(closed.is_some(), "the temporary file is still open");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn buffering_a_100mb_request_keeps_memory_bounded() {
    const BIG: u64 = 100 * 1024 * 1024;
    let up = Upstream::echo("up");
    let tmp = tempfile::tempdir().unwrap();
    let p = start(&[up.url()], "memRequestBodyBytes = 1048576", tmp.path());
    let warm = post_pattern(p.addr(), 1000);
    assert_eq!(warm.status, 200);
    let base = p.peak_rss_kib();
    let r = post_pattern(p.addr(), BIG);
    let peak = p.peak_rss_kib();
    eprintln!("buffering 100 MB: proxyd peak RSS {base} KiB before, {peak} KiB after");
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.requests().pop().unwrap();
    assert_eq!(seen.body_len, BIG);
    assert_eq!(
        seen.body_fnv,
        Pattern::fnv(BIG),
        "body corrupted on the way"
    );
    assert!(
        peak <= base + 32 * 1024,
        "proxyd peaked at {peak} KiB (from {base} KiB): the body was kept in memory"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn buffering_retry_expression_replays_a_network_error_to_another_server() {
    // The first server takes the request and resets: the body went to it,
    // yet the whole request is sent again from the spool.
    let reset = Upstream::start("reset", Behavior::reset_without_response());
    let good = Upstream::echo("good");
    let tmp = tempfile::tempdir().unwrap();
    let opts =
        "memRequestBodyBytes = 4096\nretryExpression = \"IsNetworkError() && Attempts() < 2\"";
    let p = start(&[reset.url(), good.url()], opts, tmp.path());
    // Round robin: one of the two POSTs meets the resetting server first and
    // is replayed whole (a chunked POST: never replayable without buffering).
    let started = Instant::now();
    for _ in 0..2 {
        let r = post_pattern(p.addr(), 100_000);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream().as_deref(), Some("good"));
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        reset.connections() >= 1,
        "the resetting server was not tried"
    );
    let seen = good.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|s| s.body_len == 100_000 && s.body_fnv == Pattern::fnv(100_000)),
        "{seen:?}"
    );
}

#[test]
fn buffering_retry_expression_stops_at_its_attempts() {
    let refused = |_| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let urls: Vec<String> = (0..3).map(refused).collect();
    let tmp = tempfile::tempdir().unwrap();
    let opts = "retryExpression = \"IsNetworkError() && Attempts() < 2\"";
    let mut cfg_urls = urls.clone();
    let good = Upstream::echo("good");
    cfg_urls.push(good.url());
    let p = start(&cfg_urls, opts, tmp.path());
    // Four servers in round robin, three refusing: a request starting at the
    // first gets one replay (to the second) and fails with the 502.
    let r = post_pattern(p.addr(), 10);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(good.heads(), 0);
}

#[test]
fn buffering_answers_500_past_max_response_body_bytes_with_nothing_of_the_upstream() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, behavior) in [
        ("declared", Behavior::pattern(2000)),
        ("chunked", Behavior::pattern(2000).chunked()),
        ("until-close", Behavior::pattern(2000).until_close()),
    ] {
        let up = Upstream::start(name, behavior);
        let p = start(&[up.url()], "maxResponseBodyBytes = 1000", tmp.path());
        let r = crate::common::client::get(p.addr(), "app.test", "/big");
        assert_eq!(r.status, 500, "{name}: {}", r.text());
        assert_eq!(r.text(), "500 Internal Server Error\n", "{name}");
        assert!(
            r.upstream().is_none(),
            "{name}: the upstream's head went out"
        );
    }
}

#[test]
fn buffering_sends_a_buffered_response_whole_with_its_length() {
    const LEN: u64 = 1024 * 1024;
    let up = Upstream::start("up", Behavior::pattern(LEN).chunked());
    let tmp = tempfile::tempdir().unwrap();
    let opts = "maxResponseBodyBytes = 2000000\nmemResponseBodyBytes = 4096";
    let p = start(&[up.url()], opts, tmp.path());
    let mut c = Client::connect(p.addr());
    for _ in 0..2 {
        // Keep-alive: the length frames it, and the connection serves again.
        let r = c.request("GET /big HTTP/1.1\r\nHost: app.test\r\n\r\n");
        assert_eq!(r.status, 200);
        assert!(!r.chunked, "the buffered response kept chunked framing");
        assert_eq!(r.header("content-length"), Some(LEN.to_string().as_str()));
        assert_eq!(r.body.len() as u64, LEN);
        assert_eq!(crate::common::client::fnv(&r.body), Pattern::fnv(LEN));
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
