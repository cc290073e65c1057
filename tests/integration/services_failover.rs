//! `failover` services through the real binary: traffic goes to the main
//! service while it is up, to the fallback while it is down, back when it
//! recovers, and 503 when both are down.

use crate::common::client::get;
use crate::common::config::router;
use crate::common::*;
use crate::health::{HealthUpstream, LIMIT};
use crate::observe::{api, with_admin};
use crate::services_weighted::checked;

fn failover_app(main: &HealthUpstream, fallback: &HealthUpstream, own_check: bool) -> String {
    format!(
        "{}[http.services.app.failover]\nservice = \"main\"\nfallback = \"spare\"\n{}{}{}",
        router("app", "Host(`app.test`)", "app"),
        if own_check { "healthCheck = {}\n" } else { "" },
        checked("main", &main.url()),
        checked("spare", &fallback.url()),
    )
}

fn wait_state(p: &Proxy, u: &HealthUpstream, state: &str) {
    let line = format!("server={} {state}", u.url());
    assert!(p.wait_log(&line, LIMIT), "no {line:?}:\n{}", p.log_text());
}

fn bodies(p: &Proxy, n: usize) -> Vec<String> {
    let mut c = Client::connect(p.addr());
    (0..n)
        .map(|_| c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").text())
        .collect()
}

#[test]
fn traffic_fails_over_and_comes_back() {
    let (m, f) = (
        HealthUpstream::start("main", "/health"),
        HealthUpstream::start("spare", "/health"),
    );
    let cfg = with_admin(
        ProxyConfig::new(&failover_app(&m, &f, false)),
        "[api]\ninsecure = true\n",
    );
    let p = Proxy::start(&cfg);
    assert!(bodies(&p, 5).iter().all(|b| b == "main"));

    m.set_status(500);
    wait_state(&p, &m, "DOWN");
    assert!(bodies(&p, 5).iter().all(|b| b == "spare"));

    m.set_status(200);
    wait_state(&p, &m, "UP");
    assert!(bodies(&p, 5).iter().all(|b| b == "main"));

    let (status, doc) = api(&p, "/api/http/services/app@file");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["type"], "failover");
    assert_eq!(doc["failover"]["service"], "main");
    assert_eq!(doc["failover"]["fallback"], "spare");
}

#[test]
fn both_down_is_503() {
    let (m, f) = (
        HealthUpstream::start("main", "/health"),
        HealthUpstream::start("spare", "/health"),
    );
    let p = Proxy::start(&ProxyConfig::new(&failover_app(&m, &f, true)));
    assert!(m.wait_probes(1) && f.wait_probes(1));
    m.set_status(500);
    f.set_status(500);
    wait_state(&p, &m, "DOWN");
    wait_state(&p, &f, "DOWN");
    let before = (m.traffic(), f.traffic());
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!((m.traffic(), f.traffic()), before);

    f.set_status(200);
    wait_state(&p, &f, "UP");
    assert_eq!(get(p.addr(), "app.test", "/").text(), "spare");
}
