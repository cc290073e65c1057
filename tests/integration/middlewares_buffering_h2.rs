//! buffering for HTTP/2 clients (curl over h2c and over TLS with ALPN h2),
//! the same behaviour as for HTTP/1.1 (`middlewares_buffering.rs`): the
//! request body is read whole and goes upstream with a Content-Length even
//! when the client sent no length, 413 past `maxRequestBodyBytes`, the
//! response is held whole (500 past `maxResponseBodyBytes`, else sent with
//! its length), and `retryExpression` replays the spooled request.

use std::path::Path;

use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::h2::curl;
use crate::tls::{Site, certs_toml, start_with};

/// Routers `r` (plaintext) and `rs` (TLS) through `buffering` (with `opts`)
/// to a service of `urls`; temporary files under `tmp`.
fn start(site: &Site, urls: &[String], opts: &str, tmp: &Path) -> Proxy {
    let mut dynamic = router("r", "PathPrefix(`/`)", "s");
    dynamic.push_str("middlewares = [\"buf\"]\n");
    dynamic.push_str(&router("rs", "PathPrefix(`/`)", "s"));
    dynamic.push_str("middlewares = [\"buf\"]\n[http.routers.rs.tls]\n");
    dynamic.push_str(&lb_service("s", urls));
    dynamic.push_str(&format!("[http.middlewares.buf.buffering]\n{opts}\n"));
    dynamic.push_str(&certs_toml(true));
    let tmp = tmp.display().to_string();
    start_with(site, &dynamic, |mut c| {
        c.env.push(("TMPDIR".into(), tmp));
        c
    })
}

/// curl over h2c (`tls` false) or TLS with `args`; returns stdout with
/// `http_version http_code` last, and stderr.
fn h2(p: &Proxy, tls: bool, path: &str, args: &[&str]) -> (String, String) {
    let port = p.addr().port();
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = match tls {
        true => format!("https://a.test:{port}{path}"),
        false => format!("http://{}{path}", p.addr()),
    };
    let mode: &[&str] = match tls {
        true => &["--http2", "-k", "--resolve", &resolve],
        false => &["--http2-prior-knowledge", "-H", "Host: app.test"],
    };
    let w = ["-w", "\n%{http_version} %{http_code}"];
    curl(&[mode, args, &w, &[url.as_str()]].concat())
}

/// A POST of `len` bytes sent without Content-Length (the stream's END_STREAM
/// ends it), so only buffering can give the upstream a length.
fn post(p: &Proxy, tls: bool, body: &Path) -> (String, String) {
    let data = format!("@{}", body.display());
    let args = ["--data-binary", &data, "-H", "Content-Length:"];
    h2(p, tls, "/up", &args)
}

#[test]
fn buffering_an_http2_request_sends_it_whole_with_a_length_over_h2c_and_tls() {
    let up = Upstream::echo("up");
    let site = Site::new();
    let tmp = tempfile::tempdir().unwrap();
    let p = start(&site, &[up.url()], "memRequestBodyBytes = 4096", tmp.path());
    let body = tmp.path().join("body");
    std::fs::write(&body, "b".repeat(100_000)).unwrap();
    for tls in [false, true] {
        let (out, err) = post(&p, tls, &body);
        assert!(out.ends_with("\n2 200"), "tls={tls}: {out} {err}");
    }
    let seen = up.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert!(!s.chunked, "{s:?}");
        assert_eq!(s.header("content-length"), Some("100000"));
        assert_eq!(s.body_len, 100_000);
    }
    // The spool file went with the request (created in TMPDIR, unlinked).
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn buffering_answers_413_to_http2_before_the_service() {
    let up = Upstream::echo("up");
    let site = Site::new();
    let tmp = tempfile::tempdir().unwrap();
    let p = start(&site, &[up.url()], "maxRequestBodyBytes = 1000", tmp.path());
    let body = tmp.path().join("body");
    std::fs::write(&body, "x".repeat(1001)).unwrap();
    for tls in [false, true] {
        let (out, err) = post(&p, tls, &body);
        assert!(out.ends_with("\n2 413"), "tls={tls}: {out} {err}");
    }
    // Refused while spooling: the service was never even connected to.
    assert_eq!(up.connections(), 0, "the service was connected to");
}

#[test]
fn buffering_holds_the_response_for_http2_clients() {
    let site = Site::new();
    let tmp = tempfile::tempdir().unwrap();
    let big = Upstream::start("big", Behavior::pattern(2000).chunked());
    let p = start(
        &site,
        &[big.url()],
        "maxResponseBodyBytes = 1000",
        tmp.path(),
    );
    for tls in [false, true] {
        let (out, err) = h2(&p, tls, "/big", &[]);
        assert!(out.ends_with("\n2 500"), "tls={tls}: {out} {err}");
        assert!(out.starts_with("500 Internal Server Error"), "{out}");
    }
    let ok = Upstream::start("ok", Behavior::pattern(1500).chunked());
    let p = start(
        &site,
        &[ok.url()],
        "maxResponseBodyBytes = 2000",
        tmp.path(),
    );
    for tls in [false, true] {
        let (out, err) = h2(&p, tls, "/ok", &["-D", "-", "-o", "/dev/null"]);
        assert!(out.ends_with("\n2 200"), "tls={tls}: {out} {err}");
        assert!(out.contains("content-length: 1500\r\n"), "{out}");
    }
    // A buffered answer's upstream connection goes back to the pool: both
    // requests on one connection.
    assert_eq!((ok.requests().len(), ok.connections()), (2, 1));
}

#[test]
fn buffering_retry_expression_replays_an_http2_request() {
    let reset = Upstream::start("reset", Behavior::reset_without_response());
    let good = Upstream::echo("good");
    let site = Site::new();
    let tmp = tempfile::tempdir().unwrap();
    let opts = "retryExpression = \"IsNetworkError() && Attempts() < 2\"";
    let p = start(&site, &[reset.url(), good.url()], opts, tmp.path());
    let body = tmp.path().join("body");
    std::fs::write(&body, "r".repeat(50_000)).unwrap();
    // Round robin: one of each pair meets the resetting server first and is
    // replayed whole (a POST: never replayed without buffering).
    for tls in [false, false, true, true] {
        let (out, err) = post(&p, tls, &body);
        assert!(out.ends_with("\n2 200"), "tls={tls}: {out} {err}");
        assert!(out.contains("upstream: good"), "{out}");
    }
    assert!(
        reset.connections() >= 1,
        "the resetting server was not tried"
    );
    let seen = good.requests();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|s| s.body_len == 50_000), "{seen:?}");
}
