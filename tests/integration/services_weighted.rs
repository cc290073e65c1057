//! `weighted` services through the real binary: the split between children
//! follows the weights, children that are down are skipped when the service
//! follows their health, all down is 503, a sticky cookie pins a child, and
//! the API shows the tree.

use crate::common::client::get;
use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::health::{HealthUpstream, LIMIT};
use crate::observe::{api, with_admin};

/// A load balancer `name` over `url` whose health check probes `/health`
/// every 100ms.
pub fn checked(name: &str, url: &str) -> String {
    format!(
        "{}[http.services.{name}.loadBalancer.healthCheck]\npath = \"/health\"\ninterval = \"100ms\"\n",
        lb_service(name, &[url.to_string()])
    )
}

/// Router app.test → `app`, and the other tables.
fn app(tables: &str) -> String {
    format!("{}{tables}", router("app", "Host(`app.test`)", "app"))
}

/// The bodies of `n` requests to app.test on one connection.
fn bodies(p: &Proxy, n: usize) -> Vec<String> {
    let mut c = Client::connect(p.addr());
    (0..n)
        .map(|_| c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").text())
        .collect()
}

fn count(seen: &[String], name: &str) -> usize {
    seen.iter().filter(|s| *s == name).count()
}

/// Waits until the log says the prober saw `u` in `state`.
fn wait_state(p: &Proxy, u: &HealthUpstream, state: &str) {
    let line = format!("server={} {state}", u.url());
    assert!(p.wait_log(&line, LIMIT), "no {line:?}:\n{}", p.log_text());
}

#[test]
fn the_split_follows_the_weights() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    let tables = format!(
        "[http.services.app.weighted]\nservices = [{{ name = \"sa\", weight = 3 }}, {{ name = \"sb@file\" }}]\n{}{}",
        lb_service("sa", &[a.url()]),
        lb_service("sb", &[b.url()]),
    );
    let cfg = with_admin(ProxyConfig::new(&app(&tables)), "[api]\ninsecure = true\n");
    let p = Proxy::start(&cfg);
    let seen = bodies(&p, 400);
    let (na, nb) = (count(&seen, "a"), count(&seen, "b"));
    assert_eq!(na + nb, 400, "{seen:?}");
    // 300:100 expected; ±10% of the requests.
    assert!((260..=340).contains(&na), "a={na} b={nb}");

    let (status, doc) = api(&p, "/api/http/services/app@file");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["type"], "weighted");
    assert_eq!(doc["weighted"]["services"][0]["name"], "sa");
    assert_eq!(doc["weighted"]["services"][0]["weight"], 3);
    assert_eq!(doc["weighted"]["services"][1]["name"], "sb@file");
}

#[test]
fn children_that_are_down_are_skipped_and_all_down_is_503() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    let tables = format!(
        "[http.services.app.weighted]\nhealthCheck = {{}}\nservices = [{{ name = \"sa\" }}, {{ name = \"sb\" }}]\n{}{}",
        checked("sa", &a.url()),
        checked("sb", &b.url()),
    );
    let p = Proxy::start(&ProxyConfig::new(&app(&tables)));
    assert!(a.wait_probes(1) && b.wait_probes(1));
    let seen = bodies(&p, 4);
    assert_eq!((count(&seen, "a"), count(&seen, "b")), (2, 2), "{seen:?}");

    b.set_status(500);
    wait_state(&p, &b, "DOWN");
    let seen = bodies(&p, 10);
    assert_eq!(count(&seen, "a"), 10, "{seen:?}");

    a.set_status(500);
    wait_state(&p, &a, "DOWN");
    let before = (a.traffic(), b.traffic());
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(
        (a.traffic(), b.traffic()),
        before,
        "nothing reached a server"
    );

    b.set_status(200);
    wait_state(&p, &b, "UP");
    assert_eq!(get(p.addr(), "app.test", "/").text(), "b");
}

#[test]
fn a_sticky_cookie_pins_a_child_until_it_goes_down() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    let tables = format!(
        "[http.services.app.weighted]\nhealthCheck = {{}}\nservices = [{{ name = \"sa\" }}, {{ name = \"sb\" }}]\n\
         [http.services.app.weighted.sticky.cookie]\nname = \"pick\"\n{}{}",
        checked("sa", &a.url()),
        checked("sb", &b.url()),
    );
    let p = Proxy::start(&ProxyConfig::new(&app(&tables)));
    let first = get(p.addr(), "app.test", "/");
    let cookie = first
        .header("set-cookie")
        .expect("a sticky cookie")
        .to_string();
    let pair = cookie.split(';').next().unwrap().to_string();
    assert!(pair.starts_with("pick="), "{cookie}");
    let pinned = first.text();
    let other = if pinned == "a" { &b } else { &a };
    let pinned_up = if pinned == "a" { &a } else { &b };
    let req = format!("GET / HTTP/1.1\r\nHost: app.test\r\nCookie: {pair}\r\n\r\n");
    let mut c = Client::connect(p.addr());
    for _ in 0..6 {
        let r = c.request(&req);
        assert_eq!(r.text(), pinned);
        assert!(r.header("set-cookie").is_none(), "a valid cookie is kept");
    }
    pinned_up.set_status(500);
    wait_state(&p, pinned_up, "DOWN");
    let r = c.request(&req);
    assert_ne!(r.text(), pinned, "the pinned child is down");
    assert!(
        r.header("set-cookie").is_some(),
        "a new cookie for the new child"
    );
    assert_eq!(r.text(), if pinned == "a" { "b" } else { "a" });
    let _ = other;
}
