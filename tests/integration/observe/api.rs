//! The API documents for a known config (and a refused reload's broken router), and
//! `/ping`, including 503 once a graceful stop has begun.

use super::*;

#[test]
fn api_documents_for_a_known_config() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let cfg = with_admin(
        ProxyConfig::new(&two_apps(&a, &b)),
        "[api]\ninsecure = true\n",
    );
    let p = Proxy::start(&cfg);

    let (status, r) = api(&p, "/api/http/routers/a@file");
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["rule"], "Host(`a.test`)");
    assert_eq!(r["service"], "svc_a@file");
    assert_eq!(r["status"], "enabled");
    assert_eq!(r["provider"], "file");
    assert_eq!(r["using"], serde_json::json!(["traefik", "web"]));

    let (_, s) = api(&p, "/api/http/services/svc_b@file");
    assert_eq!(s["type"], "loadbalancer");
    assert_eq!(s["usedBy"], serde_json::json!(["b@file"]));
    assert_eq!(s["serverStatus"][b.url()], "UP");
    assert_eq!(s["loadBalancer"]["servers"][0]["url"], b.url());

    let (_, list) = api(&p, "/api/http/routers");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["a@file", "api@internal", "b@file", "dashboard@internal"]
    );
    let one = get(
        p.addr_of("traefik"),
        "admin",
        "/api/http/routers?per_page=1&page=2",
    );
    assert_eq!(one.header("x-next-page"), Some("3"));
    let page: serde_json::Value = serde_json::from_slice(&one.body).unwrap();
    assert_eq!(page[0]["name"], "api@internal");
    let (_, found) = api(&p, "/api/http/routers?search=b%40file");
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, none) = api(&p, "/api/http/routers?status=disabled");
    assert_eq!(none, serde_json::json!([]));

    let (_, o) = api(&p, "/api/overview");
    assert_eq!(o["http"]["routers"]["total"], 4);
    assert_eq!(o["http"]["routers"]["errors"], 0);
    assert_eq!(o["providers"], serde_json::json!(["File"]));
    let (_, eps) = api(&p, "/api/entrypoints");
    assert_eq!(eps.as_array().unwrap().len(), 2);
    let (_, ep) = api(&p, "/api/entrypoints/web");
    assert_eq!(ep["name"], "web");
    let (_, v) = api(&p, "/api/version");
    assert_eq!(v["Version"], env!("CARGO_PKG_VERSION"));
    let (_, raw) = api(&p, "/api/rawdata");
    assert_eq!(raw["routers"]["b@file"]["service"], "svc_b@file");
    assert!(raw["services"]["svc_a@file"]["loadBalancer"].is_object());
    assert_eq!(api(&p, "/api/tcp/routers").1, serde_json::json!([]));
    assert_eq!(api(&p, "/api/http/middlewares").1, serde_json::json!([]));
    assert_eq!(api(&p, "/api/http/routers/nope@file").0, 404);

    // A refused reload: the broken router is listed as disabled with its error.
    let broken = "[http.routers.broken]\nrule = 'Host(`x.test`'\nservice = \"svc_a\"\n";
    std::fs::write(p.dynamic_dir().join("broken.toml"), broken).unwrap();
    p.signal(libc::SIGHUP);
    assert!(p.wait_log("configuration reload refused", Duration::from_secs(10)));
    let (status, r) = api(&p, "/api/http/routers/broken@file");
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "disabled");
    let err = r["error"][0].as_str().unwrap();
    assert!(err.contains("http.routers.broken.rule"), "{err}");
    let (_, o) = api(&p, "/api/overview");
    assert_eq!(o["http"]["routers"]["errors"], 1);
    let (_, d) = api(&p, "/api/http/routers?status=disabled");
    assert_eq!(d.as_array().unwrap().len(), 1);
    // The rest keeps serving.
    assert_eq!(get(p.addr(), "a.test", "/").status, 200);
}

#[test]
fn ping_answers_ok_then_503_while_draining() {
    let a = Upstream::echo("a");
    let b = Upstream::start("b", Behavior::echo().delay(Duration::from_millis(1500)));
    let mut cfg = ProxyConfig::new(&two_apps(&a, &b));
    cfg.extra_static = "[entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n\
                        [entryPoints.traefik.transport.lifeCycle]\n\
                        requestAcceptGraceTimeout = \"3s\"\n[ping]\n"
        .to_string();
    let mut p = Proxy::start(&cfg);
    let r = get(p.addr_of("traefik"), "admin", "/ping");
    assert_eq!((r.status, r.text().as_str()), (200, "OK"));
    // Ping lives on its entry point only.
    assert_eq!(
        get(p.addr(), "a.test", "/ping").status,
        200,
        "a.test routes to the app"
    );
    assert_eq!(get(p.addr(), "x.test", "/ping").status, 404);
    p.signal(libc::SIGTERM);
    let got = poll_until(Duration::from_secs(3), Duration::from_millis(20), || {
        let r = get(p.addr_of("traefik"), "admin", "/ping");
        (r.status == 503).then_some(r)
    });
    assert!(
        got.is_some(),
        "ping never turned 503 during the accept grace time"
    );
    // Still serving traffic while draining.
    assert_eq!(get(p.addr(), "a.test", "/").status, 200);
    assert_eq!(
        p.wait_exit(Duration::from_secs(15)).and_then(|s| s.code()),
        Some(0)
    );
}

#[test]
fn observe_entry_point_must_exist() {
    let mut cfg = ProxyConfig::new("");
    cfg.extra_static = "[ping]\n[metrics.prometheus]\nentryPoint = \"admin\"\n".into();
    let (_dir, file) = cfg.write();
    let out = crate::common::proxy::run_to_exit(
        &["check", "--config", file.to_str().unwrap()],
        None,
        Duration::from_secs(20),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("ping.entryPoint") && err.contains("`traefik`"),
        "{err}"
    );
    assert!(
        err.contains("metrics.prometheus.entryPoint") && err.contains("`admin`"),
        "{err}"
    );
}

/// Regression: `/api/http/middlewares` answered `[]` whatever was configured.
#[test]
fn api_lists_middlewares_with_the_routers_that_run_them() {
    use crate::common::config::{lb_service, router};
    let a = Upstream::echo("a");
    let mut dynamic = router("a", "Host(`a.test`)", "svc");
    dynamic.push_str("middlewares = [\"strip\"]\n");
    dynamic.push_str("[http.middlewares.strip.stripPrefix]\nprefixes = [\"/x\"]\n");
    dynamic.push_str("[http.middlewares.unused.addPrefix]\nprefix = \"/y\"\n");
    dynamic.push_str(&lb_service("svc", &[a.url()]));
    let cfg = with_admin(ProxyConfig::new(&dynamic), "[api]\ninsecure = true\n");
    let p = Proxy::start(&cfg);

    let (status, m) = api(&p, "/api/http/middlewares/strip@file");
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["type"], "stripprefix");
    assert_eq!(m["status"], "enabled");
    assert_eq!(m["provider"], "file");
    assert_eq!(m["usedBy"], serde_json::json!(["a@file"]));
    let (_, list) = api(&p, "/api/http/middlewares");
    let names: Vec<&str> = (list.as_array().unwrap().iter())
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["strip@file", "unused@file"]);
    let (_, r) = api(&p, "/api/http/routers/a@file");
    assert_eq!(r["middlewares"], serde_json::json!(["strip@file"]));
    let (_, o) = api(&p, "/api/overview");
    assert_eq!(o["http"]["middlewares"]["total"], 2);
    let (_, raw) = api(&p, "/api/rawdata");
    assert_eq!(raw["middlewares"]["unused@file"]["type"], "addprefix");
}
