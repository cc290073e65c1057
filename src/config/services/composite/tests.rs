use crate::config::ServiceKind;
use crate::config::tests_dynamic::{errs, ok, setup};

const LB: &str = r#"
[http.services.a.loadBalancer]
servers = [{ url = "http://127.0.0.1:1" }]
[http.services.checked.loadBalancer]
servers = [{ url = "http://127.0.0.1:2" }]
[http.services.checked.loadBalancer.healthCheck]
path = "/h"
"#;

fn reasons(text: &str) -> Vec<(String, String)> {
    let (_, errors) = errs(&[("c.toml", &format!("{LB}{text}"))]);
    errors.into_iter().map(|e| (e.key, e.reason)).collect()
}

#[test]
fn a_cycle_is_refused_with_its_path() {
    let got = reasons(
        r#"
[http.services.w1.weighted]
services = [{ name = "a" }, { name = "f1" }]
[http.services.f1.failover]
service = "checked"
fallback = "w2"
[http.services.w2.weighted]
services = [{ name = "w1@file" }]
"#,
    );
    assert_eq!(got.len(), 1, "{got:?}");
    // Checked in name order: f1 first, so the reference that closes the
    // loop is w1's.
    assert_eq!(got[0].0, "http.services.w1.weighted.services[1].name");
    assert_eq!(got[0].1, "cycle of services: f1 → w2 → w1 → f1");
}

#[test]
fn followed_children_need_a_health_check() {
    let got = reasons(
        r#"
[http.services.w.weighted]
healthCheck = {}
services = [{ name = "checked" }, { name = "a", weight = 2 }]
[http.services.f.failover]
service = "a"
fallback = "checked"
"#,
    );
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http.services.f.failover.service",
            "http.services.w.weighted.services[1].name",
        ]
    );
    assert!(got[0].1.contains("`a` has no healthCheck"), "{}", got[0].1);
}

#[test]
fn dangling_children_errors_and_unsupported_keys() {
    let got = reasons(
        r#"
[http.services.w.weighted]
services = [{ name = "nope" }, { weight = 1 }]
[http.services.f.failover]
service = "checked"
[http.services.f.failover.errors]
status = ["5x0"]
"#,
    );
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http.services.f.failover.fallback",
            "http.services.f.failover.errors.status",
            "http.services.w.weighted.services[1].name",
            "http.services.w.weighted.services[0].name",
        ]
    );
    assert!(got[1].1.contains("\"5x0\" is not a status"), "{}", got[1].1);
    assert!(got[3].1.contains("`nope` is not defined"), "{}", got[3].1);
}

#[test]
fn children_resolve_to_their_services() {
    let text = format!(
        "{LB}{}",
        r#"
[http.services.w.weighted]
healthCheck = {}
services = [{ name = "checked", weight = 3 }, { name = "f" }]
[http.services.f.failover]
healthCheck = {}
service = "checked"
fallback = "checked@file"
"#
    );
    let resolved = ok(&setup(&[("c.toml", &text)]).st);
    let services = &resolved.services;
    let by_name = |n: &str| services.iter().position(|s| s.name == n).unwrap();
    let ServiceKind::Weighted(w) = &services[by_name("w@file")].kind else {
        panic!("weighted");
    };
    assert_eq!(w.services[0].service, by_name("checked@file"));
    assert_eq!(w.services[0].weight, 3);
    assert_eq!(w.services[1].service, by_name("f@file"));
    let ServiceKind::Failover(f) = &services[by_name("f@file")].kind else {
        panic!("failover");
    };
    assert_eq!(
        (f.service, f.fallback),
        (by_name("checked@file"), by_name("checked@file"))
    );
}

#[test]
fn mirrors_are_load_balancers_with_a_percent() {
    let got = reasons(
        r#"
[http.services.m.mirroring]
service = "a"
mirrors = [{ name = "w", percent = 10 }, { name = "a", percent = 101 }]
[http.services.w.weighted]
services = [{ name = "a" }]
"#,
    );
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http.services.m.mirroring.mirrors[1].percent",
            "http.services.m.mirroring.mirrors[0].name",
        ]
    );
    assert_eq!(got[0].1, "must be from 0 to 100, got 101");
    assert!(
        got[1].1.contains("mirrors to load balancers only"),
        "{}",
        got[1].1
    );
}
