//! retry on the upstream's answer, as Traefik's `status`,
//! `maxRequestBodyBytes`, `disableRetryOnNetworkError` and
//! `retryNonIdempotentMethod` define it: an answer whose status is in the
//! ranges is discarded before the client sees anything and the request, kept
//! whole, goes to the next pick; the last attempt's answer is relayed as the
//! upstream sent it; POST is not retried unless asked; a body past the bound
//! is forwarded without a status retry. Also `buffering`'s `retryExpression`
//! on `ResponseCode()`, and an HTTP/2 client.

use crate::common::client::{Client, get};
use crate::common::config::{lb_service, router};
use crate::common::refused_url;
use crate::common::*;
use crate::middlewares_retry::{log_lines, retries, start};

fn busy() -> Upstream {
    let b = Behavior::fixed(503, b"busy").header("X-Own", "kept");
    Upstream::start("busy", b)
}

fn send(p: &Proxy, method: &str, body: &str) -> crate::common::client::Response {
    let mut c = Client::connect(p.addr());
    c.request(&format!(
        "{method} /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

#[test]
fn retry_status_discards_a_503_and_reaches_the_second_server() {
    let (bad, good) = (busy(), Upstream::echo("good"));
    let opts = "attempts = 2\nstatus = [\"500-599\"]";
    let (p, _dir, log) = start(&[bad.url(), good.url()], opts);
    // Round robin: whichever server comes first, the answer is the good one's.
    for _ in 0..4 {
        let r = send(&p, "PUT", "hello");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream().as_deref(), Some("good"));
        assert_eq!(r.header("x-own"), None, "something of the 503 leaked");
    }
    let tried = bad.requests();
    assert!(!tried.is_empty(), "the busy server was not tried");
    // The replay carries the same body.
    assert!(good.requests().iter().all(|s| s.body == b"hello"));
    assert!(tried.iter().all(|s| s.body == b"hello"));
    let total: u64 = retries(&log_lines(&log, 4)).iter().sum();
    assert_eq!(total, tried.len() as u64);
}

#[test]
fn retry_status_relays_the_last_answer_unchanged_when_attempts_run_out() {
    let bad = busy();
    let (p, _dir, log) = start(&[bad.url()], "attempts = 3\nstatus = [\"503\"]");
    let r = get(p.addr(), "app.test", "/");
    assert_eq!((r.status, r.text().as_str()), (503, "busy"));
    assert_eq!(r.header("x-own"), Some("kept"));
    assert_eq!(bad.requests().len(), 3);
    assert_eq!(retries(&log_lines(&log, 1)), [2]);
    // A status outside the ranges is relayed at once.
    let (p, _dir, _) = start(
        &[bad.url()],
        "attempts = 3\nstatus = [\"500-502\", \"504\"]",
    );
    assert_eq!(get(p.addr(), "app.test", "/").status, 503);
    assert_eq!(bad.requests().len(), 4);
}

#[test]
fn retry_status_skips_a_post_unless_retry_non_idempotent_method() {
    let bad = busy();
    let (p, _dir, _) = start(&[bad.url()], "attempts = 3\nstatus = [\"503\"]");
    assert_eq!(send(&p, "POST", "once").status, 503);
    assert_eq!(
        bad.requests().len(),
        1,
        "Traefik never retries a POST on a status"
    );
    let opts = "attempts = 3\nstatus = [\"503\"]\nretryNonIdempotentMethod = true";
    let (p, _dir, _) = start(&[bad.url()], opts);
    assert_eq!(send(&p, "POST", "thrice").status, 503);
    let seen = bad.requests();
    assert_eq!(seen.len(), 4);
    assert!(
        seen[1..]
            .iter()
            .all(|s| s.method == "POST" && s.body == b"thrice")
    );
}

#[test]
fn retry_status_forwards_a_body_past_max_request_body_bytes_without_retrying() {
    let bad = busy();
    let opts = "attempts = 3\nstatus = [\"503\"]\nmaxRequestBodyBytes = 10";
    let (p, _dir, _) = start(&[bad.url()], opts);
    // Traefik: past the bound the request still goes, once, body whole.
    assert_eq!(send(&p, "PUT", "eleven byte").status, 503);
    assert_eq!(bad.requests().len(), 1);
    assert_eq!(bad.requests()[0].body, b"eleven byte");
    assert_eq!(send(&p, "PUT", "ten bytes!").status, 503);
    assert_eq!(
        bad.requests().len(),
        4,
        "a body within the bound is retried"
    );
    // A chunked body of unknown length past the bound cannot be forwarded
    // after its start was kept: refused (proxyd's deviation, documented).
    let mut c = Client::connect(p.addr());
    let r = c.request(
        "PUT /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nb\r\neleven byte\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(bad.requests().len(), 4);
}

#[test]
fn retry_disable_retry_on_network_error_leaves_a_refused_connection_to_the_client() {
    let opts = "attempts = 3\nstatus = [\"503\"]\ndisableRetryOnNetworkError = true";
    let (p, _dir, log) = start(&[refused_url()], opts);
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
    assert_eq!(retries(&log_lines(&log, 1)), [0]);
    // Without it the same failure is retried (the existing rule).
    let (p, _dir, log) = start(&[refused_url()], "attempts = 3\nstatus = [\"503\"]");
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
    assert_eq!(retries(&log_lines(&log, 1)), [2]);
    // A `status` that covers the failure's own 502 retries it all the same,
    // as Traefik's error handler's 502 goes through its status check.
    let opts = "attempts = 3\nstatus = [\"502\"]\ndisableRetryOnNetworkError = true";
    let (p, _dir, log) = start(&[refused_url()], opts);
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
    assert_eq!(retries(&log_lines(&log, 1)), [2]);
}

#[test]
fn retry_status_works_for_an_http2_client() {
    let (bad, good) = (busy(), Upstream::echo("good"));
    let (p, _dir, _) = start(&[bad.url(), good.url()], "attempts = 2\nstatus = [\"503\"]");
    let url = format!("http://{}/h2", p.addr());
    for body in ["", "h2 body"] {
        for _ in 0..2 {
            let mut args = vec!["--http2-prior-knowledge", "-H", "Host: app.test"];
            if !body.is_empty() {
                args.extend(["-X", "PUT", "--data-binary", body]);
            }
            args.extend([
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
                &url,
            ]);
            let (out, err) = crate::h2::curl(&args);
            assert_eq!(out, "2 200", "{err}");
        }
    }
    assert!(bad.requests().len() >= 2, "the busy server was not tried");
    let puts: Vec<_> = (good.requests().into_iter())
        .filter(|s| s.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    assert!(puts.iter().all(|s| s.body == b"h2 body"), "{puts:?}");
}

#[test]
fn buffering_retry_expression_judges_the_upstreams_own_status() {
    let (bad, good) = (busy(), Upstream::echo("good"));
    let dynamic = format!(
        "{}middlewares = [\"buf\"]\n{}[http.middlewares.buf.buffering]\n\
         retryExpression = \"ResponseCode() == 503 && Attempts() < 2\"\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[bad.url(), good.url()]),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    for _ in 0..4 {
        let r = send(&p, "POST", "payload");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream().as_deref(), Some("good"));
    }
    assert!(!bad.requests().is_empty());
    assert!(good.requests().iter().all(|s| s.body == b"payload"));
}

#[test]
fn retry_status_drains_a_short_discarded_answer_and_drops_a_long_one() {
    // A short 503 is read to its end: its connection serves the next attempt.
    let short = Upstream::start("short", Behavior::fixed(503, b"busy").chunked());
    let (p, _dir, _) = start(&[short.url()], "attempts = 3\nstatus = [\"503\"]");
    assert_eq!(get(p.addr(), "app.test", "/").status, 503);
    assert_eq!((short.requests().len(), short.connections()), (3, 1));
    // A long one is not read: each discarded answer's connection is closed,
    // never pooled with its body unread.
    let long = Upstream::start(
        "long",
        Behavior {
            status: 503,
            ..Behavior::pattern(200_000)
        },
    );
    let (p, _dir, _) = start(&[long.url()], "attempts = 3\nstatus = [\"503\"]");
    let r = get(p.addr(), "app.test", "/");
    assert_eq!((r.status, r.body.len()), (503, 200_000));
    assert_eq!((long.requests().len(), long.connections()), (3, 3));
}

#[test]
fn retry_status_drain_of_a_trickled_answer_has_a_total_deadline() {
    use crate::common::scripted::send as bytes;
    use std::time::{Duration, Instant};
    // A 503 whose 100-byte body comes a byte every 300 ms: every read is
    // within the drain's silence limit, so only a total budget stops it.
    let trickle = Scripted::start(|_, _| {
        let mut steps = vec![bytes(b"HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\n")];
        for _ in 0..100 {
            steps.push(bytes(b"x"));
            steps.push(Step::Pause(Duration::from_millis(300)));
        }
        steps
    });
    let good = Upstream::echo("good");
    let opts = "attempts = 2\nstatus = [\"503\"]";
    let (p, _dir, _) = start(&[trickle.url(), good.url()], opts);
    // Round robin: one of the two requests meets the trickling server first.
    for _ in 0..2 {
        let t0 = Instant::now();
        let r = get(p.addr(), "app.test", "/");
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
    }
    assert!(
        !trickle.requests().is_empty(),
        "the trickling server was not tried"
    );
}
