//! Reloads and health: a reload that keeps a server keeps its state (a server
//! that is down gets no traffic right after it), and a bad `healthCheck`
//! value refuses the reload naming the key.

use super::*;
use crate::reload::{REFUSED, wait_generation, write_renamed};

/// Guards the carry-over of health across reloads (`config::carry_health`):
/// with a long `unhealthyInterval`, only the carried flag keeps `b` out of
/// rotation after the reload, since no probe comes to mark it down again.
#[test]
fn a_reload_that_keeps_a_down_server_keeps_it_down() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    b.set_status(500);
    let health = "path = \"/health\"\ninterval = \"100ms\"\nunhealthyInterval = \"1h\"\n";
    let cfg = ProxyConfig::new(&checked_app(&[a.url(), b.url()], health)).watched(Some("50ms"));
    let p = Proxy::start(&cfg);
    wait_change(&p, &b, "DOWN");
    let probes = b.probe_count();

    // The service changes (passHostHeader), its servers do not.
    let changed = checked_app(&[a.url(), b.url()], health)
        .replace("loadBalancer]\n", "loadBalancer]\npassHostHeader = false\n");
    assert!(changed.contains("passHostHeader = false"), "{changed}");
    write_renamed(&p.dynamic_dir().join("dynamic.toml"), &changed);
    wait_generation(&p, 2);
    let before = b.traffic();
    assert!(answers(&p, 10).iter().all(|s| s == "a"), "b stays out");
    assert_eq!(b.traffic(), before);
    assert_eq!(
        b.probe_count(),
        probes,
        "no probe since: the state was carried"
    );
    assert_eq!(p.log_count(&change(&b, "UP")), 0);
}

#[test]
fn a_bad_health_check_value_is_refused_naming_the_key() {
    let a = HealthUpstream::start("a", "/health");
    let good = checked_app(&[a.url()], "path = \"/health\"\n");
    let p = Proxy::start(&ProxyConfig::new(&good).watched(Some("50ms")));
    let file = p.dynamic_dir().join("dynamic.toml");
    let cases = [
        (
            "interval = \"0s\"\n",
            "healthCheck.interval: must be above 0",
        ),
        (
            "mode = \"http\"\nscheme = \"h2c\"\n",
            "healthCheck.scheme: `h2c` needs `mode = \"grpc\"`",
        ),
        ("timeout = \"-1s\"\n", "healthCheck.timeout"),
        ("pth = \"/x\"\n", "healthCheck.pth (line"),
    ];
    for (i, (line, want)) in cases.iter().enumerate() {
        write_renamed(&file, &checked_app(&[a.url()], line));
        assert!(
            p.wait_log_count(REFUSED, i + 1, LIMIT),
            "{line}: {}",
            p.log_text()
        );
        let lines = p.log_lines();
        let refusal = lines.iter().rfind(|l| l.contains(REFUSED)).unwrap();
        assert!(
            refusal.contains("http.services.app.loadBalancer."),
            "{refusal}"
        );
        assert!(refusal.contains(want), "{want:?} missing in {refusal}");
    }
    assert_eq!(
        crate::common::client::get(p.addr(), "app.test", "/").text(),
        "a"
    );
}

/// The prober follows the published snapshot: a server a reload adds is
/// probed, one it removes is not any more.
#[test]
fn a_reload_adds_and_removes_probes() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    let health = "path = \"/health\"\ninterval = \"100ms\"\n";
    let cfg = ProxyConfig::new(&checked_app(&[a.url()], health)).watched(Some("50ms"));
    let p = Proxy::start(&cfg);
    assert!(a.wait_probes(1));
    assert_eq!(b.probe_count(), 0);

    write_renamed(
        &p.dynamic_dir().join("dynamic.toml"),
        &checked_app(&[b.url()], health),
    );
    wait_generation(&p, 2);
    let removed_at = a.probe_count();
    assert!(b.wait_probes(3), "the new server is probed");
    // At most the probe that was already under way when the reload came.
    assert!(a.probe_count() <= removed_at + 1, "a is still probed");
}
