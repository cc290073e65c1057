//! Where traffic goes as servers fail and recover their health checks: a
//! failing server is taken out and put back, all down is 503, a hung health
//! endpoint counts as down after `timeout`, and one process probes once
//! whatever its number of workers.

use std::time::{Duration, Instant};

use super::*;
use crate::common::client::get;

const FAST: &str = "path = \"/health\"\ninterval = \"100ms\"\ntimeout = \"1s\"\n";

#[test]
fn a_failing_server_gets_no_traffic_until_its_health_check_passes_again() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url(), b.url()], FAST)));
    assert!(b.wait_probes(1), "b is probed");
    let seen = answers(&p, 4);
    assert!(
        seen.contains(&"a".into()) && seen.contains(&"b".into()),
        "{seen:?}"
    );

    b.set_status(500);
    wait_change(&p, &b, "DOWN: received status 500");
    let before = b.traffic();
    assert!(
        answers(&p, 20).iter().all(|s| s == "a"),
        "b is out of rotation"
    );
    assert_eq!(b.traffic(), before);

    b.set_status(200);
    wait_change(&p, &b, "UP: status 200");
    let seen = answers(&p, 4);
    assert_eq!(seen.iter().filter(|s| *s == "b").count(), 2, "{seen:?}");
}

#[test]
fn all_servers_down_is_503_until_one_recovers() {
    let a = HealthUpstream::start("a", "/health");
    a.set_status(503);
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], FAST)));
    wait_change(&p, &a, "DOWN");
    let before = a.traffic();
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(a.traffic(), before, "nothing reached the server");

    a.set_status(204);
    wait_change(&p, &a, "UP: status 204");
    assert_eq!(get(p.addr(), "app.test", "/").text(), "a");
}

#[test]
fn a_hung_health_endpoint_is_down_after_the_timeout() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    b.hang(true);
    let health = "path = \"/health\"\ninterval = \"100ms\"\ntimeout = \"300ms\"\n";
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url(), b.url()], health)));
    wait_change(&p, &b, "DOWN: no answer within 300ms");
    assert!(answers(&p, 10).iter().all(|s| s == "a"));

    b.hang(false);
    wait_change(&p, &b, "UP");
}

/// Guards the one prober per process: with two workers, a server is probed
/// once per interval, not once per worker.
#[test]
fn two_workers_probe_each_server_once_per_interval() {
    let a = HealthUpstream::start("a", "/health");
    let mut cfg = ProxyConfig::new(&checked_app(&[a.url()], FAST));
    cfg.cores = Some(2);
    let p = Proxy::start(&cfg);
    assert!(a.wait_probes(2));
    let (start, from) = (Instant::now(), a.probe_count());
    assert!(a.wait_probes(from + 10));
    // Ten probes one interval (100ms) apart take at least nine intervals,
    // whenever the count started; a prober per worker takes about half that.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(750), "10 probes in {took:?}");
    assert!(a.probes().iter().all(|s| s.target == "/health"));
    assert_eq!(p.log_count("DOWN"), 0, "{}", p.log_text());
}
