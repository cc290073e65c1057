//! rateLimit's hold, as Traefik's `ServeHTTP`: a request whose token is due
//! within `maxDelay` waits for it (then goes on with 200), one due later gets
//! the 429 at once. In process over HTTP/1.1 and HTTP/2 (two streams of one
//! connection: the held one does not hold up the refused one), and with
//! `redis`.
//!
//! The limit: 19 per 10 s, burst 1, a token every 526 ms, and maxDelay
//! 500 ms (Traefik's 1/(2·rate) with the rate truncated to 1/s). Request A
//! takes the only token; 100 ms after its answer B and C come together: one
//! is held until A's admission + 526 ms, the other would wait 1 s more and is
//! refused. The bounds are measured from when A was sent, so a slow machine
//! cannot make them fail, only the hold missing can.
//!
//! A client that leaves during its hold (Traefik's `req.Context().Done()`)
//! ends it: the request never reaches the upstream, and the worker serves
//! the next one (HTTP/2: `h2/rate_limit.rs`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::client::{Response, request};
use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::kv_store::redis;

/// The limit, as `rateLimit` keys.
const LIMIT: &str = "average = 19\nperiod = \"10s\"";
/// A token's interval less a little for the clock's rounding.
const TOKEN: Duration = Duration::from_millis(500);

fn get_app(addr: SocketAddr) -> (Response, Instant) {
    let r = request(addr, "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    (r, Instant::now())
}

/// A, then B and C together on their own connections.
fn held_then_refused_over_http1(addr: SocketAddr) {
    let a_sent = Instant::now();
    assert_eq!(get_app(addr).0.status, 200, "A takes the burst");
    std::thread::sleep(Duration::from_millis(100));
    let pair: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get_app(addr)))
        .collect();
    let mut got: Vec<_> = pair.into_iter().map(|t| t.join().unwrap()).collect();
    got.sort_by_key(|(r, _)| r.status);
    let [(held, held_at), (refused, refused_at)] = &got[..] else {
        unreachable!()
    };
    assert_eq!((held.status, refused.status), (200, 429), "{got:?}");
    assert!(
        *held_at >= a_sent + TOKEN,
        "answered {:?} after A: not held until its token",
        *held_at - a_sent
    );
    assert!(refused_at < held_at, "the refusal waits for nothing");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
}

/// What proxyd logs (DEBUG) when a held request's client leaves.
pub(crate) const LEFT: &str = "the client left during the wait for its token";

/// A, then B held; B's client leaves 100 ms into its wait of up to 426 ms;
/// C, once B's hold would have ended, is served. B never reaches the
/// upstream (A and C do). Times count from A's answer, which comes after A's
/// admission however slow the machine: B (sent 100 ms after it) is held
/// until its token, due at most 526 ms after it, and C's (B's stays spent) at most 1,052 ms, so C, sent 800 ms
/// after it, waits within maxDelay.
fn a_client_that_leaves_during_the_hold_is_not_forwarded(p: &Proxy, up: &Upstream) {
    let (a, a_done) = get_app(p.addr());
    assert_eq!(a.status, 200, "A takes the burst");
    // B's wait must be under maxDelay (500 ms of the 526) to be held.
    std::thread::sleep(Duration::from_millis(100));
    let mut b = Client::connect(p.addr());
    b.send(b"GET /b HTTP/1.1\r\nHost: app.test\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    drop(b);
    // Past the end of B's hold: had it gone on, it would be at the upstream
    // before C.
    let since = a_done.elapsed();
    std::thread::sleep(Duration::from_millis(800).saturating_sub(since));
    let r = request(p.addr(), "GET /c HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200, "the worker goes on serving: {r:?}");
    let targets: Vec<_> = up.requests().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/", "/c"], "B was not forwarded");
    assert!(p.wait_log(LEFT, IO_TIMEOUT), "{}", p.log_text());
}

/// An echo upstream behind the limit, with `extra` keys.
pub(crate) fn config(extra: &str) -> (Upstream, String) {
    let up = Upstream::echo("up");
    let text = format!(
        "{}middlewares = [\"lim\"]\n{}[http.middlewares.lim.rateLimit]\n{LIMIT}\n{extra}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
    );
    (up, text)
}

#[test]
fn rate_limit_holds_a_request_due_within_max_delay_over_http1() {
    let (_up, text) = config("");
    let p = Proxy::start(&ProxyConfig::new(&text));
    held_then_refused_over_http1(p.addr());
}

/// Status codes of nghttp's streams (one connection, h2c prior knowledge),
/// in the order they completed.
fn nghttp(urls: &[String]) -> Vec<String> {
    let out = std::process::Command::new("timeout")
        .args(["60", "nghttp", "-ns", "-H", ":authority: app.test"])
        .args(urls)
        .output()
        .expect("nghttp (Debian package nghttp2-client) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    // "id responseEnd requestStart process code size path", sorted by end.
    let codes: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("id "))
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect();
    assert_eq!(codes.len(), urls.len(), "{text}");
    codes
}

#[test]
fn rate_limit_holds_a_request_due_within_max_delay_over_http2() {
    let (_up, text) = config("");
    let p = Proxy::start(&ProxyConfig::new(&text));
    // Distinct paths: nghttp sends one stream per distinct URL.
    let url = |q: &str| format!("http://{}/?{q}", p.addr());
    let a_sent = Instant::now();
    assert_eq!(nghttp(&[url("a")]), ["200"], "A takes the burst");
    std::thread::sleep(Duration::from_millis(100));
    let codes = nghttp(&[url("b"), url("c")]);
    let done = Instant::now();
    assert_eq!(
        codes,
        ["429", "200"],
        "one refused at once, the other held (in completion order)"
    );
    assert!(
        done >= a_sent + TOKEN,
        "both answered {:?} after A: not held until its token",
        done - a_sent
    );
}

#[test]
fn redis_rate_limit_holds_a_request_due_within_max_delay() {
    let store = redis("");
    let (_up, text) = config(&in_redis(&store));
    let p = Proxy::start(&ProxyConfig::new(&text));
    held_then_refused_over_http1(p.addr());
}

/// The keys that keep the buckets in `store`.
fn in_redis(store: &crate::kv_store::Store) -> String {
    format!(
        "[http.middlewares.lim.rateLimit.redis]\nendpoints = [\"{}\"]\n",
        store.endpoint()
    )
}

/// With proxyd's DEBUG lines (the departure's).
pub(crate) fn debug(text: &str) -> ProxyConfig {
    let mut cfg = ProxyConfig::new(text);
    cfg.log_level = "DEBUG";
    cfg
}

#[test]
fn rate_limit_hold_ends_when_the_http1_client_leaves() {
    let (up, text) = config("");
    let p = Proxy::start(&debug(&text));
    a_client_that_leaves_during_the_hold_is_not_forwarded(&p, &up);
}

#[test]
fn redis_rate_limit_hold_ends_when_the_client_leaves() {
    let store = redis("");
    let (up, text) = config(&in_redis(&store));
    let p = Proxy::start(&debug(&text));
    a_client_that_leaves_during_the_hold_is_not_forwarded(&p, &up);
}
