//! Probes keep one connection per server (#12): the next probe goes on it
//! while the server keeps it open; a kept connection that the server dropped
//! costs a retry on a fresh one, not a DOWN; an answer whose body is not
//! skipped cheaply (chunked, or above 4 KiB) closes the connection, and so
//! does a failed probe.

use super::*;

const FAST: &str = "path = \"/health\"\ninterval = \"100ms\"\ntimeout = \"1s\"\n";

#[test]
fn probes_of_a_server_reuse_one_connection() {
    let a = HealthUpstream::start("a", "/health");
    a.set_body("ok\n", false);
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], FAST)));
    assert!(a.wait_probes(5));
    assert_eq!(a.probe_connections(), 1, "{:?}", a.probes());
    assert_eq!(p.log_count("DOWN"), 0, "{}", p.log_text());
}

#[test]
fn a_kept_connection_the_server_dropped_is_retried_fresh_before_down() {
    let a = HealthUpstream::start("a", "/health");
    a.drop_kept(true);
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], FAST)));
    assert!(a.wait_probes(5));
    // Every answered probe came on a fresh connection, and none was DOWN.
    let probes = a.probes();
    assert_eq!(a.probe_connections(), probes.len(), "{probes:?}");
    assert_eq!(p.log_count("DOWN"), 0, "{}", p.log_text());
}

#[test]
fn a_chunked_or_large_health_body_closes_the_connection() {
    let a = HealthUpstream::start("a", "/health");
    a.set_body(&"x".repeat(5000), false);
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], FAST)));
    assert!(a.wait_probes(3));
    assert_eq!(a.probe_connections(), a.probe_count(), "large body");
    a.set_body("ok", true);
    let from = a.probe_count();
    assert!(a.wait_probes(from + 3));
    assert_eq!(a.probe_connections(), a.probe_count(), "chunked body");
    assert_eq!(p.log_count("DOWN"), 0, "{}", p.log_text());
}

#[test]
fn a_failed_probe_leaves_no_connection_behind() {
    let a = HealthUpstream::start("a", "/health");
    a.set_status(500);
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], FAST)));
    assert!(a.wait_probes(3));
    // A real answer (500) is believed, not retried; the next probe connects anew.
    assert_eq!(a.probe_connections(), a.probe_count(), "{:?}", a.probes());
    assert!(p.log_contains("DOWN: received status 500"));
}
