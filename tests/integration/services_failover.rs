//! `failover` services through the real binary: traffic goes to the main
//! service while it is up, to the fallback while it is down, back when it
//! recovers, and 503 when both are down; with `errors`, an answer of the main
//! service in their ranges sends the request, body and all, to the fallback.

use std::time::Duration;

use crate::common::client::get;
use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::health::{HealthUpstream, LIMIT};
use crate::middlewares_buffering::{fds_under, post_pattern};
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

/// Failover `name` (Host `<name>.test`) from a main service answering
/// `status` to everything (its health check expects that status, so it
/// stays up) to `spare`, with `errors` on 500-599.
fn failing_main(name: &str, main: &Upstream, status: u16, spare: &Upstream) -> String {
    format!(
        "{}[http.services.{name}.failover]\nservice = \"{name}-main\"\nfallback = \"{name}-spare\"\n\
         [http.services.{name}.failover.errors]\nstatus = [\"500-599\"]\n\
         {}[http.services.{name}-main.loadBalancer.healthCheck]\npath = \"/health\"\n\
         interval = \"100ms\"\nstatus = {status}\n{}",
        router(name, &format!("Host(`{name}.test`)"), name),
        lb_service(&format!("{name}-main"), &[main.url()]),
        lb_service(&format!("{name}-spare"), &[spare.url()]),
    )
}

#[test]
fn failover_errors_replay_a_500_to_the_fallback_with_the_same_body() {
    const LEN: u64 = 4 * 1024 * 1024;
    // The main service holds its 500, so the spooled body is seen on disk.
    let main = Upstream::start(
        "main",
        Behavior::fixed(500, b"down").delay(Duration::from_millis(1000)),
    );
    let lost = Upstream::start("lost", Behavior::fixed(404, b"no such page"));
    let spare = Upstream::echo("spare");
    let dynamic = format!(
        "{}{}",
        failing_main("app", &main, 500, &spare),
        failing_main("other", &lost, 404, &spare)
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = ProxyConfig::new(&dynamic);
    cfg.env
        .push(("TMPDIR".into(), tmp.path().display().to_string()));
    let p = Proxy::start(&cfg);
    let addr = p.addr();
    let client = std::thread::spawn(move || post_pattern(addr, LEN));
    // Memory stays bounded: past 1 MiB the body goes to an unlinked file.
    let spilled = poll_until(Duration::from_secs(20), Duration::from_millis(10), || {
        (fds_under(&p, tmp.path()) > 0).then_some(())
    });
    assert!(spilled.is_some(), "the kept body did not spill to disk");
    let r = client.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.upstream().as_deref(), Some("spare"));
    let posted = |u: &Upstream| u.requests().into_iter().filter(|s| s.method == "POST");
    let seen: Vec<_> = posted(&main).chain(posted(&spare)).collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for seen in seen {
        assert_eq!(seen.body_len, LEN);
        assert_eq!(seen.body_fnv, Pattern::fnv(LEN), "body changed on the way");
    }
    // A status outside the ranges is the main service's answer.
    let r = get(p.addr(), "other.test", "/");
    assert_eq!((r.status, r.text().as_str()), (404, "no such page"));
    assert_eq!(spare.requests().len(), 1, "the 404 went to the fallback");
}

/// `errors` to a fallback whose servers all refuse: the fallback is tried
/// whatever its state (the failover has no `healthCheck`), and its failure
/// is a load balancer's, 502, as Traefik's proxy answers a refused dial.
/// The main service's 500 never reaches the client.
#[test]
fn failover_errors_to_a_fallback_whose_servers_refuse_is_502() {
    let main = Upstream::start("main", Behavior::fixed(500, b"down"));
    let dynamic = format!(
        "{}[http.services.app.failover]\nservice = \"main\"\nfallback = \"spare\"\n\
         [http.services.app.failover.errors]\nstatus = [\"500-599\"]\n\
         {}[http.services.main.loadBalancer.healthCheck]\npath = \"/health\"\n\
         interval = \"100ms\"\nstatus = 500\n{}",
        router("app", "Host(`app.test`)", "app"),
        lb_service("main", &[main.url()]),
        lb_service("spare", &[refused_url(), refused_url()]),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_ne!(r.text(), "down", "the main service's answer leaked");
    let gets = main.requests().iter().filter(|s| s.target == "/").count();
    assert_eq!(gets, 1, "the main service got the request once");
    // The connection and the worker go on: the next request is answered alike.
    assert_eq!(get(p.addr(), "app.test", "/").status, 502);
}

/// With the failover's own `healthCheck`, a fallback that is down (its
/// server refuses the probes) is not tried: the main service's 500 is
/// answered 503, as Traefik's failover answers when its fallback is down
/// (the fallback's own balancer, all down, would answer 503 too).
#[test]
fn failover_errors_to_a_fallback_that_is_down_is_503() {
    let main = Upstream::start("main", Behavior::fixed(500, b"down"));
    let spare = refused_url();
    let dynamic = format!(
        "{}[http.services.app.failover]\nservice = \"main\"\nfallback = \"spare\"\nhealthCheck = {{}}\n\
         [http.services.app.failover.errors]\nstatus = [\"500-599\"]\n\
         {}[http.services.main.loadBalancer.healthCheck]\npath = \"/health\"\n\
         interval = \"100ms\"\nstatus = 500\n{}",
        router("app", "Host(`app.test`)", "app"),
        lb_service("main", &[main.url()]),
        checked("spare", &spare),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let spare_down = format!("server={spare} DOWN");
    assert!(p.wait_log(&spare_down, LIMIT), "{}", p.log_text());
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_ne!(r.text(), "down", "the main service's answer leaked");
}

/// `errors` to a fallback that answers itself (a built-in `@internal`
/// service): the request's body is already kept for the replay and a
/// built-in answers from the request as it arrived, so it is answered 501
/// (documented as not supported), never the main service's 500.
#[test]
fn failover_errors_to_a_built_in_fallback_is_501() {
    let main = Upstream::start("main", Behavior::fixed(500, b"down"));
    let failover = |name: &str, fallback: &str| {
        format!(
            "{}[http.services.{name}.failover]\nservice = \"main\"\nfallback = \"{fallback}\"\n\
             [http.services.{name}.failover.errors]\nstatus = [\"500-599\"]\n",
            router(name, &format!("Host(`{name}.test`)"), name),
        )
    };
    let dynamic = format!(
        "{}{}{}[http.services.main.loadBalancer.healthCheck]\npath = \"/health\"\n\
         interval = \"100ms\"\nstatus = 500\n",
        failover("api", "api@internal"),
        failover("who", "whoami@internal"),
        lb_service("main", &[main.url()]),
    );
    let cfg = with_admin(ProxyConfig::new(&dynamic), "[api]\ninsecure = true\n");
    let p = Proxy::start(&cfg);
    for host in ["api.test", "who.test"] {
        let r = get(p.addr(), host, "/api/rawdata");
        assert_eq!(r.status, 501, "{host}: {}", r.text());
        assert_ne!(r.text(), "down", "{host}: the main service's answer leaked");
    }
    let gets = main
        .requests()
        .iter()
        .filter(|s| s.target == "/api/rawdata")
        .count();
    assert_eq!(gets, 2, "the main service got each request once");
}
