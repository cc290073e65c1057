//! Upstream faults: a server that stalls before or in the middle of its
//! response, that answers before it has taken the whole request body (and then
//! closes, resets or just stops reading), or that never reads at all. Each test
//! checks what the client gets, and that proxyd lets go of both sockets: its
//! descriptor count returns to the count before the fault, and the scripted
//! upstream sees its connection closed.

use std::io::Write;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::config::{lb_service_with, router};
use crate::common::scripted::send;
use crate::common::*;

/// Enough for proxyd to close what it holds, with a debug build on a busy machine.
const SETTLE: Duration = Duration::from_secs(5);

/// How soon an early answer must reach the client.
const EARLY_WITHIN: Duration = Duration::from_secs(3);

/// Router `app` → service `app` on `url` through transport `t` with these
/// `forwardingTimeouts` lines.
fn app_with_timeouts(url: &str, timeouts: &str) -> String {
    format!(
        "{}{}[http.serversTransports.t.forwardingTimeouts]\n{timeouts}\n",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with("app", &[url.to_string()], "serversTransport = \"t\"\n"),
    )
}

/// A response head promising 1000 body bytes, and the first 100 of them.
fn head_and_100_of_1000() -> Step {
    let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[b'x'; 100]);
    Step::Send(bytes)
}

fn early(status: &str, body: &str) -> Step {
    send(
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

/// Waits for proxyd to be back at `base` descriptors and the upstream's
/// connections to be closed; `by_proxy`: proxyd closed them, not the upstream.
fn assert_released(p: &Proxy, up: &Scripted, base: usize, by_proxy: bool) {
    assert_released_after(p, up, base, by_proxy, Duration::ZERO);
}

/// [`assert_released`] for an upstream that may still be in a `Step::Pause`
/// of up to `pause`: it only notices the close once the pause is over, so its
/// wait gets that much more than [`SETTLE`] (the pause began before the test
/// got here, but under load "before" can be a few milliseconds).
fn assert_released_after(p: &Proxy, up: &Scripted, base: usize, by_proxy: bool, pause: Duration) {
    if let Err(n) = p.wait_fds_at_most(base, SETTLE) {
        panic!("proxyd holds {n} descriptors, {base} before the fault");
    }
    assert!(
        up.wait_open_at_most(0, pause + SETTLE),
        "proxyd still holds {} upstream connection(s)",
        up.open()
    );
    if by_proxy {
        assert_eq!(up.closed_by_peer(), up.connections(), "closed by proxyd");
    }
}

/// Reads a response head, then the body bytes until the connection ends.
fn head_then_rest(c: &mut Client) -> (String, usize, Duration) {
    let head = c.io.read_head().expect("response head").expect("a head");
    let t0 = Instant::now();
    let mut got = 0;
    let end = c.io.read_to_close(&mut |d| got += d.len());
    assert!(end.is_ok(), "connection not closed: {end:?}");
    (
        String::from_utf8_lossy(&head).into_owned(),
        got,
        t0.elapsed(),
    )
}

/// Sends a POST head announcing `len` body bytes, then streams the body from a
/// thread (on a clone of the socket) until done or the first error: proxyd
/// closing mid-body is what these tests expect.
fn post_streaming(c: &mut Client, len: u64) -> JoinHandle<u64> {
    c.send(
        format!("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
    );
    let mut s = c.io.stream.try_clone().expect("clone client socket");
    std::thread::spawn(move || {
        let mut body = Pattern::new(len);
        let mut sent = 0;
        while let Some(chunk) = body.next_chunk() {
            if s.write_all(chunk).is_err() {
                break;
            }
            sent += chunk.len() as u64;
        }
        sent
    })
}

/// An early answer reaches the client promptly and whole, with `Connection:
/// close`, and the connection then ends; the body was not all sent.
fn assert_early_answer(c: &mut Client, writer: JoinHandle<u64>, status: u16, body: &str, len: u64) {
    let t0 = Instant::now();
    c.deadline(Duration::from_secs(10));
    let r = c.try_read_response("POST").expect("the early answer");
    assert_eq!((r.status, r.text().as_str()), (status, body), "{r:?}");
    let took = t0.elapsed();
    assert!(took < EARLY_WITHIN, "answered only after {took:?}");
    assert!(
        r.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "{r:?}"
    );
    c.closed_within(SETTLE)
        .expect("client connection closed after the answer");
    let sent = writer.join().expect("body writer");
    assert!(sent < len, "the whole body went through ({sent} bytes)");
}

#[test]
fn upstream_stalled_mid_body_closes_both_sides_after_read_timeout() {
    let up =
        Scripted::start(|_, _| vec![head_and_100_of_1000(), Step::Hold(Duration::from_secs(30))]);
    let p = Proxy::start(&ProxyConfig::new(&app_with_timeouts(
        &up.url(),
        "readTimeout = \"1s\"",
    )));
    let base = p.open_fds();
    let mut c = Client::connect(p.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(10));
    let (head, got, took) = head_then_rest(&mut c);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(got, 100, "body bytes before the close");
    assert!(
        took >= Duration::from_millis(800),
        "closed after only {took:?}"
    );
    assert!(took < Duration::from_secs(4), "closed only after {took:?}");
    drop(c);
    assert_released(&p, &up, base, true);
    assert!(
        p.wait_log("status=504", SETTLE),
        "timeout not logged as 504"
    );
    assert!(p.wait_log(
        &format!("upstream {} sent nothing for readTimeout", up.addr()),
        LOG_WAIT
    ));
}

#[test]
fn client_leaving_a_stalled_body_frees_both_sockets_at_once() {
    // Default readTimeout (60s): only noticing the client frees the sockets in time.
    let up =
        Scripted::start(|_, _| vec![head_and_100_of_1000(), Step::Hold(Duration::from_secs(30))]);
    let p = Proxy::start(&ProxyConfig::new(&app_with_timeouts(&up.url(), "")));
    let base = p.open_fds();
    let mut c = Client::connect(p.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(10));
    let head = c.io.read_head().unwrap().unwrap();
    assert!(head.starts_with(b"HTTP/1.1 200"));
    c.io.read_exact_to(100, &mut |_| {})
        .expect("the first 100 body bytes");
    drop(c);
    assert_released(&p, &up, base, true);
    assert!(
        p.wait_log("status=499", SETTLE),
        "departure not logged as 499"
    );
}

#[test]
fn upstream_silent_before_head_is_504_after_read_timeout() {
    // No responseHeaderTimeout: readTimeout bounds the wait for the head too.
    let up = Scripted::start(|_, _| vec![Step::Hold(Duration::from_secs(30))]);
    let p = Proxy::start(&ProxyConfig::new(&app_with_timeouts(
        &up.url(),
        "readTimeout = \"1s\"",
    )));
    let base = p.open_fds();
    let mut c = Client::connect(p.addr());
    c.deadline(Duration::from_secs(10));
    let t0 = Instant::now();
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    let took = t0.elapsed();
    assert_eq!(r.status, 504);
    assert!(
        took >= Duration::from_millis(800),
        "504 after only {took:?}"
    );
    assert!(took < Duration::from_secs(4), "504 only after {took:?}");
    drop(c);
    assert_released(&p, &up, base, true);
}

#[test]
fn early_413_during_a_large_upload_is_relayed_then_closed() {
    // The upstream refuses at once and closes without reading the body (the
    // unread bytes turn its close into a reset). `ReadBody` is never reached; it
    // only makes the answer come before the body is read.
    upload_meets_early_answer("413 Payload Too Large", "too large", Step::Close);
}

#[test]
fn early_401_then_reset_during_upload_is_relayed_not_502() {
    upload_meets_early_answer("401 Unauthorized", "who are you", Step::Reset);
}

/// A 64 MiB upload to an upstream that answers `status` at once, then ends the
/// connection with `end` without reading the body: the client gets the answer,
/// then a close, and every descriptor is released.
fn upload_meets_early_answer(status: &'static str, body: &'static str, end: Step) {
    // `ReadBody` is never reached; it only makes the answer come before the body.
    let up = Scripted::start(move |_, _| vec![early(status, body), end.clone(), Step::ReadBody]);
    let p = Proxy::start(&ProxyConfig::new(&app_with_timeouts(&up.url(), "")));
    let base = p.open_fds();
    let mut c = Client::connect(p.addr());
    let len = 64 << 20;
    let writer = post_streaming(&mut c, len);
    let code = status[..3].parse().unwrap();
    assert_early_answer(&mut c, writer, code, body, len);
    drop(c);
    assert_released(&p, &up, base, false);
}

#[test]
fn early_answer_from_an_upstream_that_stops_reading_is_relayed() {
    // The upstream answers, then neither reads nor closes for a while: proxyd's
    // body writes block once the socket buffers fill. The answer must reach the
    // client during that pause, long before writeTimeout (60s by default).
    let pause = EARLY_WITHIN + Duration::from_secs(2);
    let up = Scripted::start(move |_, _| {
        vec![
            early("413 Payload Too Large", "too large"),
            Step::Pause(pause),
            Step::ReadBody,
        ]
    });
    let p = Proxy::start(&ProxyConfig::new(&app_with_timeouts(&up.url(), "")));
    let base = p.open_fds();
    let mut c = Client::connect(p.addr());
    let len = 256 << 20;
    let t0 = Instant::now();
    let writer = post_streaming(&mut c, len);
    assert_early_answer(&mut c, writer, 413, "too large", len);
    let took = t0.elapsed();
    assert!(
        took < pause - Duration::from_secs(1),
        "answered only after {took:?}"
    );
    drop(c);
    // After its pause the upstream reads on and finds the connection closed.
    assert_released_after(&p, &up, base, true, pause);
}

#[test]
fn upstream_that_never_reads_the_body_is_504_after_write_timeout() {
    let pause = Duration::from_secs(4);
    let up = Scripted::start(move |_, _| vec![Step::Pause(pause), Step::ReadBody]);
    let p = Proxy::start(&ProxyConfig::new(&app_with_timeouts(
        &up.url(),
        "writeTimeout = \"1s\"",
    )));
    let base = p.open_fds();
    let mut c = Client::connect(p.addr());
    let len = 256 << 20;
    let writer = post_streaming(&mut c, len);
    c.deadline(Duration::from_secs(10));
    let r = c.try_read_response("POST").expect("a response");
    assert_eq!(r.status, 504, "{r:?}");
    c.closed_within(SETTLE)
        .expect("client connection closed after the 504");
    assert!(writer.join().unwrap() < len);
    drop(c);
    assert_released_after(&p, &up, base, true, pause);
    assert!(p.wait_log(
        &format!(
            "upstream {} took no request bytes for writeTimeout",
            up.addr()
        ),
        LOG_WAIT
    ));
}
