//! The entry point's `transport.maxRequestBodyBytes` (proxyd's own): a
//! declared length over it is answered 413 before anything goes upstream, a
//! chunked body is cut when it passes it and answered 413, and bodies within
//! it pass.

use crate::common::client::Client;
use crate::common::*;

fn start(up: &Upstream) -> Proxy {
    let cfg = ProxyConfig::new(&config::app(&[up.url()])).web(|ep| {
        ep.extra = "[entryPoints.web.transport]\nmaxRequestBodyBytes = 1000\n".into();
    });
    Proxy::start(&cfg)
}

#[test]
fn a_declared_body_over_the_limit_is_413_without_reaching_the_upstream() {
    let up = Upstream::echo("up");
    let p = start(&up);
    let mut c = Client::connect(p.addr());
    // Only the head and a little of the body: the answer comes without the rest.
    c.send(b"POST /big HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1001\r\n\r\nsome");
    let r = c.read_response();
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), "413 Request Entity Too Large\n");
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(up.connections(), 0);

    let body = "x".repeat(1000);
    let mut c = Client::connect(p.addr());
    let r = c.request(&format!(
        "POST /fits HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1000\r\n\r\n{body}"
    ));
    assert_eq!(r.status, 200);
    assert_eq!(up.only_request().body_len, 1000);
}

#[test]
fn a_chunked_body_is_cut_at_the_limit_and_answered_413() {
    let up = Upstream::echo("up");
    let p = start(&up);
    let chunk = format!("258\r\n{}\r\n", "y".repeat(600));
    let mut c = Client::connect(p.addr());
    c.send(
        format!("POST /stream HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n")
            .as_bytes(),
    );
    let r = c.read_response();
    assert_eq!(r.status, 413);
    assert!(
        up.requests().iter().all(|s| s.body_len < 1000),
        "the upstream never got it whole"
    );

    let mut c = Client::connect(p.addr());
    let r = c.request(&format!(
        "POST /small HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}0\r\n\r\n"
    ));
    assert_eq!(r.status, 200);
}

/// Regression: HTTP/2 streams once passed the limit (it was checked by the
/// HTTP/1.1 connection only): a declared length over it is answered 413.
#[test]
fn the_limit_holds_for_http2_streams() {
    let up = Upstream::echo("up");
    let p = start(&up);
    let url = format!("http://{}/h2", p.addr());
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, "x".repeat(1001)).unwrap();
    let (out, err) = crate::h2::curl(&[
        "--http2-prior-knowledge",
        "-H",
        "Host: app.test",
        "--data-binary",
        &format!("@{}", big.display()),
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        &url,
    ]);
    assert_eq!(out, "2 413", "{err}");
    assert!(up.requests().is_empty());
}

/// A streamed HTTP/2 body (no length declared) is cut at the limit by the
/// count of its DATA frames and answered 413. Regression: the response went
/// out alone and RST_STREAM(NO_ERROR) only when the stream's task ended; when
/// curl (7.88) had sent its HEADERS before the body came on its stdin, it
/// sometimes took that as no answer ("Empty reply from server", about one run
/// in ten). Now the reset follows the response at once. Several runs, so
/// that a regression shows.
#[test]
fn a_streamed_http2_body_over_the_limit_is_413() {
    let up = Upstream::echo("up");
    let p = start(&up);
    for _ in 0..15 {
        streamed_413(&p);
    }
    assert!(up.requests().iter().all(|s| s.body_len <= 1000));
}

/// One curl upload of 1,200 bytes from its stdin, written once curl started.
fn streamed_413(p: &Proxy) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let url = format!("http://{}/h2", p.addr());
    let mut curl = Command::new("curl")
        .args(["-sS", "--max-time", "30", "--http2-prior-knowledge"])
        .args(["-H", "Host: app.test", "-T", "-", "-o", "/dev/null"])
        .args(["-w", "%{http_version} %{http_code}", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl");
    let mut stdin = curl.stdin.take().unwrap();
    let _ = stdin.write_all("y".repeat(1200).as_bytes());
    drop(stdin);
    let done = curl.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&done.stdout);
    assert_eq!(out, "2 413", "{}", String::from_utf8_lossy(&done.stderr));
}
