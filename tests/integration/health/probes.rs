//! What a probe sends: the configured path, method, headers, Host and port
//! reach the probed server, the configured status is the healthy one, and a
//! redirect is followed (or not, with `followRedirects = false`).

use super::*;

#[test]
fn the_probe_request_is_the_configured_one() {
    let a = HealthUpstream::start("a", "/custom");
    a.set_status(204);
    let health = "path = \"/custom/ready?deep=1\"\nmethod = \"HEAD\"\nstatus = 204\n\
        hostname = \"health.test\"\ninterval = \"100ms\"\n\
        headers = { X-Probe = \"yes\", User-Agent = \"probe-test\" }\n";
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], health)));
    assert!(a.wait_probes(2));
    let probe = &a.probes()[0];
    assert_eq!(probe.request_line(), "HEAD /custom/ready?deep=1 HTTP/1.1");
    assert_eq!(probe.header("host"), Some("health.test"));
    assert_eq!(probe.header("x-probe"), Some("yes"));
    assert_eq!(probe.header("user-agent"), Some("probe-test"));
    // Kept for the next probe.
    assert_eq!(probe.header("connection"), None);
    assert_eq!(p.log_count("DOWN"), 0, "204 is the healthy status");

    // Any other status is down, 200 included.
    a.set_status(200);
    wait_change(&p, &a, "DOWN: received status 200, expected 204");
}

#[test]
fn the_port_replaces_the_servers_and_the_host_follows_it() {
    let (served, health) = (
        HealthUpstream::start("served", "/health"),
        HealthUpstream::start("health", "/health"),
    );
    let lines = format!(
        "path = \"/health\"\ninterval = \"100ms\"\nport = {}\n",
        health.addr().port()
    );
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[served.url()], &lines)));
    assert!(health.wait_probes(1));
    let probe = &health.probes()[0];
    assert_eq!(probe.request_line(), "GET /health HTTP/1.1");
    assert_eq!(
        probe.header("host"),
        Some(health.addr().to_string().as_str())
    );
    assert_eq!(served.probe_count(), 0);
    // The verdict is the served server's: traffic still goes there.
    health.set_status(500);
    wait_change(&p, &served, "DOWN");
}

#[test]
fn redirects_are_followed_unless_turned_off() {
    let (a, target) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("target", "/health"),
    );
    a.set_status(302);
    a.set_location(&format!("{}/health/deep", target.url()));
    target.set_status(500);
    let health = "path = \"/health\"\ninterval = \"100ms\"\n";
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], health)));
    wait_change(&p, &a, "DOWN: received status 500");
    let probe = &target.probes()[0];
    assert_eq!(probe.request_line(), "GET /health/deep HTTP/1.1");
    assert_eq!(
        probe.header("host"),
        Some(target.addr().to_string().as_str())
    );
    drop(p);

    // Not followed, the 302 itself is the answer: 3xx is healthy.
    let before = target.probe_count();
    let health = format!("{health}followRedirects = false\n");
    let p = Proxy::start(&ProxyConfig::new(&checked_app(&[a.url()], &health)));
    let from = a.probe_count();
    assert!(a.wait_probes(from + 3));
    assert_eq!(target.probe_count(), before);
    assert_eq!(p.log_count("DOWN"), 0, "{}", p.log_text());
}
