//! Passive health checks (`loadBalancer.passiveHealthCheck`) through the real
//! binary: failed requests take a server out of rotation, it comes back after
//! `failureWindow` (or at the next passing probe when an active check runs),
//! and the API and metrics show it down meanwhile.

use std::time::{Duration, Instant};

use crate::common::client::get;
use crate::common::config::{lb_service_with, router};
use crate::common::*;
use crate::health::{HealthUpstream, LIMIT, answers, wait_change};
use crate::observe::{api, scrape_until, with_admin};

/// Router app.test → `app` over `a` and `b`, with these lines in the
/// `loadBalancer` table and these tables after it.
fn passive_app(urls: &[String], lb: &str, tables: &str) -> String {
    format!(
        "{}{}{tables}",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with("app", urls, lb),
    )
}

/// Statuses and bodies of `n` requests to `path`, on one connection.
fn statuses(p: &Proxy, path: &str, n: usize) -> Vec<(u16, String)> {
    let mut c = Client::connect(p.addr());
    let req = format!("GET {path} HTTP/1.1\r\nHost: app.test\r\n\r\n");
    (0..n)
        .map(|_| {
            let r = c.request(&req);
            (r.status, r.text())
        })
        .collect()
}

#[test]
fn failed_requests_take_a_server_out_until_the_window_passes() {
    // `b` answers every request with the status the test sets (its "health"
    // prefix is "/"), `a` always with 200 "a".
    let (a, b) = (
        HealthUpstream::start("a", "/none"),
        HealthUpstream::start("b", "/"),
    );
    b.set_status(500);
    let lb = "[http.services.app.loadBalancer.passiveHealthCheck]\n\
              failureWindow = \"1500ms\"\nmaxFailedAttempts = 2\n";
    let cfg = with_admin(
        ProxyConfig::new(&passive_app(&[a.url(), b.url()], "", lb)),
        "[metrics.prometheus]\n[api]\ninsecure = true\n",
    );
    let p = Proxy::start(&cfg);

    // wrr alternates: a, b (500, one failure: still in), a, b (500, second
    // failure within the window: out).
    let seen = statuses(&p, "/", 4);
    let fails = seen.iter().filter(|(s, _)| *s == 500).count();
    assert_eq!(
        fails, 2,
        "b kept its share until its second failure: {seen:?}"
    );
    let tripped = Instant::now();
    let before = b.probe_count();
    let seen = statuses(&p, "/", 10);
    assert!(seen.iter().all(|(s, t)| *s == 200 && t == "a"), "{seen:?}");
    assert_eq!(b.probe_count(), before, "nothing reached b while it is out");
    assert!(
        tripped.elapsed() < Duration::from_millis(1500),
        "too slow to tell"
    );
    assert!(p.wait_log(&format!("server={} DOWN for 1.5s", b.url()), LOG_WAIT));

    let (status, doc) = api(&p, "/api/http/services/app@file");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["serverStatus"][b.url()], "DOWN", "{doc}");
    assert_eq!(doc["serverStatus"][a.url()], "UP", "{doc}");
    let down = format!(
        "proxyd_service_server_up{{service=\"app@file\",url=\"{}\"}} 0",
        b.url()
    );
    assert!(scrape_until(&p, |t| t.contains(&down)).contains(&down));

    // Once the window has passed, b takes its share again.
    b.set_status(200);
    let back = poll_until(LIMIT, Duration::from_millis(50), || {
        let seen = statuses(&p, "/", 2);
        seen.iter()
            .any(|(s, t)| *s == 200 && t.is_empty())
            .then_some(())
    });
    assert!(back.is_some(), "b never came back");
    assert!(
        tripped.elapsed() >= Duration::from_millis(1400),
        "b came back early"
    );
    assert_eq!(
        api(&p, "/api/http/services/app@file").1["serverStatus"][b.url()],
        "UP"
    );
}

#[test]
fn a_success_between_failures_clears_the_count() {
    let b = HealthUpstream::start("b", "/");
    let lb = "[http.services.app.loadBalancer.passiveHealthCheck]\nmaxFailedAttempts = 2\n";
    let p = Proxy::start(&ProxyConfig::new(&passive_app(&[b.url()], "", lb)));
    for _ in 0..3 {
        b.set_status(500);
        assert_eq!(get(p.addr(), "app.test", "/").status, 500);
        b.set_status(200);
        assert_eq!(get(p.addr(), "app.test", "/").status, 200);
    }
    // Two in a row: out, and with no other server, 503.
    b.set_status(500);
    assert_eq!(get(p.addr(), "app.test", "/").status, 500);
    assert_eq!(get(p.addr(), "app.test", "/").status, 500);
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 503, "{}", r.text());
}

#[test]
fn a_connection_refused_counts_as_a_failure() {
    let a = HealthUpstream::start("a", "/none");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let lb = "[http.services.app.loadBalancer.passiveHealthCheck]\n";
    let p = Proxy::start(&ProxyConfig::new(&passive_app(&[a.url(), dead], "", lb)));
    let seen = statuses(&p, "/", 2);
    assert!(seen.iter().any(|(s, _)| *s == 502), "{seen:?}");
    // Default maxFailedAttempts (1) and failureWindow (10s): out at once.
    let seen = statuses(&p, "/", 10);
    assert!(seen.iter().all(|(s, _)| *s == 200), "{seen:?}");
}

#[test]
fn with_an_active_check_the_next_passing_probe_brings_it_back() {
    // `b` fails requests under /fail and passes its probes on /ok.
    let (a, b) = (
        HealthUpstream::start("a", "/none"),
        HealthUpstream::start("b", "/fail"),
    );
    b.set_status(500);
    let tables = "[http.services.app.loadBalancer.passiveHealthCheck]\n\
                  failureWindow = \"1m\"\n\
                  [http.services.app.loadBalancer.healthCheck]\n\
                  path = \"/ok\"\ninterval = \"200ms\"\n";
    let p = Proxy::start(&ProxyConfig::new(&passive_app(
        &[a.url(), b.url()],
        "",
        tables,
    )));
    let seen = statuses(&p, "/fail", 2);
    assert!(seen.iter().any(|(s, _)| *s == 500), "{seen:?}");
    // Marked down on the prober's flag; the next probe (well within the
    // minute of failureWindow) finds b healthy and puts it back.
    wait_change(&p, &b, "UP: status 200");
    assert!(
        answers(&p, 4).contains(&"b".to_string()),
        "b is back in rotation"
    );
}
