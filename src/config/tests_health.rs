//! Tests of `loadBalancer.healthCheck`: defaults, every bad value named by its
//! key, and the health flags a reload carries over.

use std::time::Duration;

use super::tests_dynamic::*;
use super::*;

fn lb_of(snap: &Snapshot, name: &str) -> LoadBalancer {
    let s = snap.services.iter().find(|s| s.name == name).unwrap();
    match &s.kind {
        ServiceKind::LoadBalancer(lb) => lb.clone(),
        other => panic!("{other:?}"),
    }
}

fn snapshot(text: &str) -> Snapshot {
    let s = setup(&[("h.toml", text)]);
    load_snapshot(&s.st, 1).unwrap_or_else(|e| panic!("{e}"))
}

const CHECKED: &str = r#"
[http.services.s.loadBalancer]
servers = [{ url = "http://127.0.0.1:1/base/" }, { url = "http://127.0.0.1:2" }, { url = "http://127.0.0.1:1/base/" }]
[http.services.s.loadBalancer.healthCheck]
path = "/health"
"#;

#[test]
fn health_check_defaults_are_traefiks() {
    let lb = lb_of(&snapshot(CHECKED), "s@file");
    let hc = lb.health_check.expect("compiled");
    assert_eq!(hc.path, "/health");
    assert_eq!(hc.method, "GET");
    assert_eq!(
        (hc.interval, hc.unhealthy_interval),
        (Duration::from_secs(30), Duration::from_secs(30))
    );
    assert_eq!(hc.timeout, Duration::from_secs(5));
    assert!(hc.follow_redirects);
    assert_eq!(
        (hc.status, hc.port, hc.hostname.as_deref()),
        (None, None, None)
    );
    // The same URL twice is one server: one flag.
    assert_eq!(lb.servers[0].health, lb.servers[2].health);
    assert_ne!(lb.servers[0].health, lb.servers[1].health);
    assert!(
        lb.servers.iter().all(|s| s.health.is_up()),
        "servers start up"
    );
}

#[test]
fn health_check_keys_reach_the_runtime_type() {
    let text = r#"
[http.services.s.loadBalancer]
servers = [{ url = "http://127.0.0.1:1" }]
[http.services.s.loadBalancer.healthCheck]
scheme = "http"
mode = "http"
path = "ready?full=1"
method = "HEAD"
status = 204
port = 8081
interval = "100ms"
unhealthyInterval = "2s"
timeout = "50ms"
hostname = "health.test"
followRedirects = false
headers = { X-Probe = "1", User-Agent = "me" }
"#;
    let hc = lb_of(&snapshot(text), "s@file").health_check.unwrap();
    assert_eq!(
        (hc.path.as_str(), hc.method.as_str()),
        ("ready?full=1", "HEAD")
    );
    assert_eq!((hc.status, hc.port), (Some(204), Some(8081)));
    assert_eq!(hc.interval, Duration::from_millis(100));
    assert_eq!(hc.unhealthy_interval, Duration::from_secs(2));
    assert_eq!(hc.timeout, Duration::from_millis(50));
    assert_eq!(hc.tls, Some(false), "scheme = http");
    assert_eq!(hc.hostname.as_deref(), Some("health.test"));
    assert!(!hc.follow_redirects);
    let want = [("User-Agent", "me"), ("X-Probe", "1")];
    assert_eq!(
        hc.headers,
        want.map(|(n, v)| (n.to_string(), v.to_string()))
    );
    let unset = "[http.services.s.loadBalancer]\n[http.services.s.loadBalancer.healthCheck]\ninterval = \"3s\"\nstatus = 0\nport = 0\n";
    let hc = lb_of(&snapshot(unset), "s@file").health_check.unwrap();
    assert_eq!(
        hc.unhealthy_interval,
        Duration::from_secs(3),
        "defaults to interval"
    );
    assert_eq!((hc.status, hc.port, hc.path.as_str()), (None, None, ""));
}

#[test]
fn bad_health_check_values_name_their_key() {
    let text = r#"
[http.services.s.loadBalancer]
servers = [{ url = "http://127.0.0.1:1" }]
[http.services.s.loadBalancer.healthCheck]
mode = "tcp"
scheme = "h2c"
path = "http://elsewhere/health"
method = "GE T"
status = 999
port = 70000
interval = "0s"
unhealthyInterval = 0
timeout = "0"
hostname = "a b"
headers = { Host = "x" }
"#;
    let (_, errors) = errs(&[("h.toml", text)]);
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.rsplit('.').next().unwrap(), e.reason.as_str()))
        .collect();
    let keys: Vec<&str> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "mode",
            "scheme",
            "path",
            "method",
            "hostname",
            "status",
            "port",
            "interval",
            "unhealthyInterval",
            "timeout",
            "headers"
        ]
    );
    assert!(errors.iter().all(|e| {
        e.key
            .starts_with("http.services.s.loadBalancer.healthCheck.")
    }));
    assert!(got[0].1.contains("`http` or `grpc`"), "{got:?}");
    assert!(got[1].1.contains("needs `mode = \"grpc\"`"), "{got:?}");
    assert!(got[2].1.contains("relative URL"), "{got:?}");
    assert!(got[6].1.contains("1 to 65535"), "{got:?}");
    assert!(got[10].1.contains("hostname"), "{got:?}");
    let more = "[http.services.s.loadBalancer]\n[http.services.s.loadBalancer.healthCheck]\nmode = \"tcp\"\nheaders = { X-A = \"1\", x-a = \"2\" }\n";
    let (_, errors) = errs(&[("h.toml", more)]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].reason.contains("`http` or `grpc`"), "{errors:?}");
    assert!(errors[1].reason.contains("twice"), "{errors:?}");
}

#[test]
fn unknown_health_check_keys_are_typos() {
    let text = "[http.services.s.loadBalancer.healthCheck]\npath = \"/\"\nintervall = \"1s\"\n";
    let (_, errors) = errs(&[("h.toml", text)]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .key
            .starts_with("http.services.s.loadBalancer.healthCheck.intervall")
    );
    assert!(errors[0].reason.contains("unknown field"), "{errors:?}");
}

#[test]
fn a_reload_carries_health_by_service_and_url() {
    let prev = snapshot(CHECKED);
    let old = lb_of(&prev, "s@file");
    old.servers[0].health.set(false);
    // Same service, one server kept, one new; another service with the same URL.
    let next_text = r#"
[http.services.s.loadBalancer]
servers = [{ url = "http://127.0.0.1:3" }, { url = "http://127.0.0.1:1/base/" }]
[http.services.s.loadBalancer.healthCheck]
path = "/other"
[http.services.t.loadBalancer]
servers = [{ url = "http://127.0.0.1:1/base/" }]
[http.services.t.loadBalancer.healthCheck]
"#;
    let mut next = snapshot(next_text);
    carry_health(&mut next, &prev);
    let s = lb_of(&next, "s@file");
    assert_eq!(s.servers[1].health, old.servers[0].health, "the same flag");
    assert!(!s.servers[1].health.is_up(), "still down after the reload");
    assert!(s.servers[0].health.is_up(), "a new server starts up");
    assert!(
        lb_of(&next, "t@file").servers[0].health.is_up(),
        "another service's server"
    );
    // Without a health check any more, the server is up on a flag of its own
    // (a late verdict on the old one changes nothing), which later reloads keep.
    let one =
        "[http.services.s.loadBalancer]\nservers = [{ url = \"http://127.0.0.1:1/base/\" }]\n";
    let mut plain = snapshot(one);
    carry_health(&mut plain, &next);
    let p = lb_of(&plain, "s@file");
    assert_ne!(p.servers[0].health, old.servers[0].health);
    assert!(p.servers[0].health.is_up());
    let mut again = snapshot(one);
    carry_health(&mut again, &plain);
    let kept = lb_of(&again, "s@file").servers;
    assert_eq!(kept, p.servers, "an unchanged service stays equal");
}

#[test]
fn http_health_checks_of_h2c_servers_are_refused_grpc_ones_accepted() {
    let text = r#"
[http.services.s.loadBalancer]
servers = [{ url = "h2c://127.0.0.1:1" }]
[http.services.s.loadBalancer.healthCheck]
path = "/health"
"#;
    let (_, errors) = errs(&[("h.toml", text)]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key, "http.services.s.loadBalancer.healthCheck");
    assert!(errors[0].reason.contains("h2c://"), "{errors:?}");
    let grpc = text.replace("path = \"/health\"", "mode = \"grpc\"\nscheme = \"h2c\"");
    let hc = lb_of(&snapshot(&grpc), "s@file").health_check.unwrap();
    assert_eq!((hc.grpc, hc.tls), (true, Some(false)));
}
