//! Error statuses: 502 / 503 / 504 / 408 / 431 and the 499 log line. Each
//! test checks the status the client gets and what the upstream saw.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::client::{get, request};
use crate::common::config::{app, app_with_transport};
use crate::common::*;

#[test]
fn upstream_port_closed_is_502() {
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let p = Proxy::start(&ProxyConfig::new(&app(&[url])));
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 502);
    // The client connection stays usable after a 502.
    let mut c = Client::connect(p.addr());
    assert_eq!(
        c.request("GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n")
            .status,
        502
    );
    assert_eq!(
        c.request("GET /b HTTP/1.1\r\nHost: app.test\r\n\r\n")
            .status,
        502
    );
}

#[test]
fn upstream_closes_without_response_is_502() {
    let up = Upstream::start("up", Behavior::close_without_response());
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 502);
    assert!(up.heads() >= 1, "upstream never got the request");
    // The 5xx log line names the server that failed.
    let line = "request status=502 client=127.0.0.1:";
    let upstream = format!("upstream={}:", up.url());
    assert!(
        p.wait_log_count(&upstream, 1, std::time::Duration::from_secs(5)),
        "no 502 line naming {upstream}: {}",
        p.log_text()
    );
    assert!(p.log_count(line) >= 1);
}

#[test]
fn upstream_reset_without_response_is_502() {
    let up = Upstream::start("up", Behavior::reset_without_response());
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
    assert!(up.heads() >= 1, "upstream never got the request");
}

#[test]
fn upstream_truncated_body_not_passed_off_as_complete() {
    // Headers promise 1000 bytes; the upstream sends 5 and closes. The proxy
    // cannot send a 502 any more, but it must not complete the response
    // either: the client sees the connection end early.
    let up = Upstream::start(
        "up",
        Behavior::raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort"),
    );
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(10));
    match c.try_read_response("GET") {
        Err(e) => assert_ne!(
            e.kind(),
            std::io::ErrorKind::TimedOut,
            "hung instead of closing"
        ),
        Ok(r) => assert_eq!(r.status, 502, "truncated body passed on as complete: {r:?}"),
    }
}

#[test]
fn upstream_invalid_response_is_502() {
    let up = Upstream::start("up", Behavior::raw(b"this is not http\r\n\r\n"));
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
}

#[test]
fn upstream_invalid_status_line_is_502() {
    let up = Upstream::start(
        "up",
        Behavior::raw(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    );
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
}

#[test]
fn service_without_servers_is_503() {
    let p = Proxy::start(&ProxyConfig::new(&app(&[])));
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 503);
}

#[test]
fn response_header_timeout_is_504() {
    let up = Upstream::start("slow", Behavior::echo().delay(Duration::from_secs(4)));
    let p = Proxy::start(&ProxyConfig::new(&app_with_transport(
        &up.url(),
        "1s",
        "1s",
    )));
    let t0 = Instant::now();
    let r = get(p.addr(), "app.test", "/slow");
    let took = t0.elapsed();
    assert_eq!(r.status, 504);
    assert!(
        took >= Duration::from_millis(900),
        "504 after only {took:?}"
    );
    assert!(
        took < Duration::from_millis(3500),
        "504 only after {took:?}"
    );
    assert_eq!(up.only_request().target, "/slow");
}

#[test]
fn response_header_timeout_not_hit_by_fast_upstream() {
    let up = Upstream::start("ok", Behavior::echo().delay(Duration::from_millis(200)));
    let p = Proxy::start(&ProxyConfig::new(&app_with_transport(
        &up.url(),
        "1s",
        "2s",
    )));
    assert_eq!(get(p.addr(), "app.test", "/").status, 200);
}

#[test]
fn incomplete_request_head_is_408_then_closed() {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.read_timeout = Some("1s".into()));
    let p = Proxy::start(&cfg);
    let mut c = Client::connect(p.addr());
    let t0 = Instant::now();
    c.send(b"GET / HTTP/1.1\r\nHost: app.te");
    c.deadline(Duration::from_secs(6));
    let r = c.read_response();
    let took = t0.elapsed();
    assert_eq!(r.status, 408);
    assert!(
        took >= Duration::from_millis(800),
        "408 after only {took:?}"
    );
    c.closed_within(Duration::from_secs(3))
        .expect("closed after 408");
    assert_eq!(up.heads(), 0, "partial request must not reach the upstream");
}

#[test]
fn slow_but_complete_head_within_read_timeout_is_served() {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.read_timeout = Some("3s".into()));
    let p = Proxy::start(&cfg);
    let mut c = Client::connect(p.addr());
    c.send(b"GET / HTTP/1.1\r\n");
    std::thread::sleep(Duration::from_millis(300));
    c.send(b"Host: app.test\r\n");
    std::thread::sleep(Duration::from_millis(300));
    c.send(b"\r\n");
    assert_eq!(c.read_response().status, 200);
}

fn header_limit_proxy(up: &Upstream) -> Proxy {
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.max_header_bytes = Some(8192));
    Proxy::start(&cfg)
}

#[test]
fn header_section_over_limit_is_431() {
    let up = Upstream::echo("up");
    let p = header_limit_proxy(&up);
    let big = "a".repeat(10_000);
    let r = request(
        p.addr(),
        &format!("GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: {big}\r\n\r\n"),
    );
    assert_eq!(r.status, 431);
    assert_eq!(up.heads(), 0);
}

#[test]
fn many_headers_over_limit_is_431() {
    let up = Upstream::echo("up");
    let p = header_limit_proxy(&up);
    let mut raw = String::from("GET / HTTP/1.1\r\nHost: app.test\r\n");
    for i in 0..300 {
        raw.push_str(&format!("X-H{i:03}: {}\r\n", "v".repeat(30)));
    }
    raw.push_str("\r\n");
    assert!(raw.len() > 10_000);
    assert_eq!(request(p.addr(), &raw).status, 431);
    assert_eq!(up.heads(), 0);
}

#[test]
fn header_section_just_under_limit_is_accepted() {
    let up = Upstream::echo("up");
    let p = header_limit_proxy(&up);
    let prefix = "GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ";
    // Whole head (request line included) 7800 bytes: under 8192 however the
    // proxy counts.
    let fill = "b".repeat(7800 - prefix.len() - 4);
    let raw = format!("{prefix}{fill}\r\n\r\n");
    assert_eq!(raw.len(), 7800);
    let r = request(p.addr(), &raw);
    assert_eq!(r.status, 200);
    assert_eq!(
        up.only_request().header("x-big").map(str::len),
        Some(fill.len())
    );
}

#[test]
fn client_gone_before_response_logs_499() {
    let up = Upstream::start("slow", Behavior::echo().delay(Duration::from_secs(2)));
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    c.send(b"GET /gone HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert!(
        up.wait_requests(1, Duration::from_secs(5)),
        "request never reached upstream"
    );
    drop(c);
    assert!(
        p.wait_log("status=499", Duration::from_secs(8)),
        "no status=499 log line; log:\n{}",
        p.log_text()
    );
    // The proxy keeps serving.
    let up2 = get(p.addr(), "app.test", "/after");
    assert_eq!(up2.status, 200);
}

/// Regression: closing right after the 431 with the rest of a huge head unread made
/// the kernel answer the client's further bytes with a reset instead of a clean
/// close, which can destroy the response before the client reads it.
#[test]
fn oversized_head_gets_431_and_a_clean_close_not_a_reset() {
    use std::io::{Read, Write};
    let up = Upstream::echo("up");
    let p = header_limit_proxy(&up);
    let mut s = std::net::TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ")
        .unwrap();
    // Keep sending after the proxy has already decided; it must drain, not reset.
    let junk = vec![b'a'; 16 * 1024];
    for _ in 0..12 {
        if s.write_all(&junk).is_err() {
            break;
        }
    }
    let mut got = Vec::new();
    let res = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
    assert!(res.is_ok(), "reset instead of a clean close: {res:?}");
    assert_eq!(up.heads(), 0);
}

/// A head that fails to parse right after a request answered on the same
/// keep-alive connection (before it went quiet and parked) is still answered
/// 400: the previous answer's "response started" must not silence it.
#[test]
fn malformed_request_right_after_an_answered_one_still_gets_400() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    for round in 0..3 {
        let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
        assert_eq!(r.status, 200, "round {round}");
    }
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\nno colon here\r\n\r\n");
    assert_eq!(r.status, 400);
}
