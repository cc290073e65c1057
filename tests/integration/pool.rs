//! Upstream connection reuse (per-worker pool), client keep-alive and
//! pipelining.

use std::time::Duration;

use crate::common::client::get;
use crate::common::config::app;
use crate::common::scripted::ok;
use crate::common::*;

fn one_worker(up: &Upstream) -> Proxy {
    let mut cfg = ProxyConfig::new(&app(&[up.url()]));
    cfg.cores = Some(1);
    Proxy::start(&cfg)
}

#[test]
fn pool_reuses_upstream_connection_across_client_connections() {
    let up = Upstream::echo("up");
    let p = one_worker(&up);
    for i in 0..10 {
        let r = get(p.addr(), "app.test", &format!("/r{i}"));
        assert_eq!(r.status, 200, "request {i}");
    }
    let seen = up.requests();
    assert_eq!(seen.len(), 10);
    assert_eq!(
        up.connections(),
        1,
        "10 sequential requests through one worker should share one upstream connection"
    );
    assert!(seen.iter().all(|s| s.conn == 1));
    let targets: Vec<_> = seen.iter().map(|s| s.target.clone()).collect();
    let want: Vec<_> = (0..10).map(|i| format!("/r{i}")).collect();
    assert_eq!(targets, want);
}

#[test]
fn pool_reuses_upstream_connection_within_client_keep_alive() {
    let up = Upstream::echo("up");
    let p = one_worker(&up);
    let mut c = Client::connect(p.addr());
    for i in 0..10 {
        let r = c.request(&format!("GET /k{i} HTTP/1.1\r\nHost: app.test\r\n\r\n"));
        assert_eq!(r.status, 200);
        assert!(r.text().contains(&format!("request: GET /k{i} HTTP/1.1")));
    }
    assert_eq!(up.connections(), 1);
}

#[test]
fn pool_does_not_reuse_connection_closed_by_upstream() {
    // The upstream closes after each response (read-until-close framing):
    // the proxy must open a new connection each time and never fail.
    let up = Upstream::start("up", Behavior::fixed(200, b"once").until_close());
    let p = one_worker(&up);
    for i in 0..5 {
        let r = get(p.addr(), "app.test", &format!("/c{i}"));
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.body, b"once");
    }
    assert_eq!(up.connections(), 5);
}

#[test]
fn pool_reused_connection_carries_request_body() {
    let up = Upstream::echo("up");
    let p = one_worker(&up);
    assert_eq!(get(p.addr(), "app.test", "/a").status, 200);
    let r = crate::common::client::request(
        p.addr(),
        "POST /b HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\n\r\nbody",
    );
    assert_eq!(r.status, 200);
    assert_eq!(up.requests()[1].body, b"body");
    assert_eq!(up.connections(), 1);
}

/// Guards the pool's check before reuse: a POST cannot be retried, so only
/// discarding the connection the upstream closed while idle keeps this from
/// a 502 (an idempotent GET would hide a missing check behind the retry).
/// The pool sweep also lets go of such a connection with no next request.
#[test]
fn pool_discards_idle_connection_closed_by_upstream() {
    let up =
        Scripted::start(|req, _| vec![Step::Send(ok(&format!("for {}", req.target))), Step::Close]);
    let mut cfg = ProxyConfig::new(&app(&[up.url()]));
    cfg.cores = Some(1);
    let p = Proxy::start(&cfg);
    let base = p.open_fds();
    for i in 0..4 {
        let r = crate::common::client::request(
            p.addr(),
            &format!("POST /s{i} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1\r\n\r\nx"),
        );
        assert_eq!(
            r.status, 200,
            "request {i} after the upstream closed the pooled connection"
        );
        assert_eq!(r.text(), format!("for /s{i}"));
        assert!(
            up.wait_open_at_most(0, Duration::from_secs(5)),
            "upstream side still open"
        );
    }
    assert_eq!(up.connections(), 4);
    if let Err(n) = p.wait_fds_at_most(base, Duration::from_secs(5)) {
        panic!("proxyd holds {n} fds, {base} before: the closed pooled connection was kept");
    }
}

#[test]
fn pipelined_requests_answered_in_order() {
    let up = Upstream::echo("up");
    let p = one_worker(&up);
    let mut c = Client::connect(p.addr());
    c.send(
        b"GET /one HTTP/1.1\r\nHost: app.test\r\n\r\n\
          POST /two HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nxyz\
          GET /three HTTP/1.1\r\nHost: app.test\r\n\r\n",
    );
    c.deadline(Duration::from_secs(15));
    for (i, path) in ["GET /one", "POST /two", "GET /three"].iter().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 200, "response {i}");
        assert!(
            r.text().contains(&format!("request: {path} HTTP/1.1")),
            "response {i} out of order: {}",
            r.text()
        );
    }
    let seen = up.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].body, b"xyz");
}

#[test]
fn pipelined_requests_mixed_routes_in_order() {
    let up = Upstream::echo("up");
    let p = one_worker(&up);
    let mut c = Client::connect(p.addr());
    c.send(
        b"GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n\
          GET /b HTTP/1.1\r\nHost: unknown.test\r\n\r\n\
          GET /c HTTP/1.1\r\nHost: app.test\r\n\r\n",
    );
    c.deadline(Duration::from_secs(15));
    let r1 = c.read_response();
    let r2 = c.read_response();
    let r3 = c.read_response();
    assert_eq!((r1.status, r2.status, r3.status), (200, 404, 200));
    assert!(r1.text().contains("GET /a "));
    assert!(r3.text().contains("GET /c "));
}

#[test]
fn client_keep_alive_connection_idle_timeout_closes() {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.idle_timeout = Some("1s".into()));
    let p = Proxy::start(&cfg);
    let mut c = Client::connect(p.addr());
    assert_eq!(
        c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").status,
        200
    );
    c.closed_within(Duration::from_secs(5))
        .expect("idle keep-alive connection closed after idleTimeout");
}

#[test]
fn connection_close_from_client_is_honoured() {
    let up = Upstream::echo("up");
    let p = one_worker(&up);
    let mut c = Client::connect(p.addr());
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    c.closed_within(Duration::from_secs(5))
        .expect("closed after Connection: close");
    // The upstream connection is still pooled: Connection is hop-by-hop.
    assert_eq!(get(p.addr(), "app.test", "/").status, 200);
    assert_eq!(up.connections(), 1);
}

/// Regression for buffer shedding: a pooled upstream connection idle long enough
/// for the pool sweep to free its read buffer (500 ms, sweep once a second) is
/// reused with a fresh one, and reads a large response whole.
#[test]
fn pooled_connection_reused_after_its_buffer_was_shed() {
    let up = Upstream::start("big", Behavior::pattern(100_000));
    let p = one_worker(&up);
    assert_eq!(get(p.addr(), "app.test", "/").body.len(), 100_000);
    std::thread::sleep(Duration::from_millis(1700));
    let r = get(p.addr(), "app.test", "/");
    assert_eq!((r.status, r.body.len()), (200, 100_000));
    assert_eq!(up.connections(), 1, "the idle connection was reused");
}
