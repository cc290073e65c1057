//! `/metrics` checked with Prometheus' own text-format parser, and its values
//! against the requests actually sent.

use super::*;
use crate::common::client::request;

#[test]
fn metrics_match_requests_sent() {
    let a = Upstream::echo("a");
    let b = Upstream::start("b", Behavior::fixed(404, b"gone"));
    let cfg = with_admin(
        ProxyConfig::new(&two_apps(&a, &b)),
        "[metrics.prometheus]\naddRoutersLabels = true\nbuckets = [0.005, 0.1, 1.0]\n",
    );
    let p = Proxy::start(&cfg);
    for _ in 0..5 {
        assert_eq!(get(p.addr(), "a.test", "/").status, 200);
    }
    let post = "POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(request(p.addr(), post).status, 200);
    for _ in 0..3 {
        assert_eq!(get(p.addr(), "b.test", "/").status, 404);
    }
    for _ in 0..2 {
        assert_eq!(get(p.addr(), "nowhere.test", "/").status, 404);
    }
    let text = scrape_until(&p, |t| {
        t.contains("proxyd_entrypoint_requests_total{code=\"404\",method=\"GET\",protocol=\"http\",entrypoint=\"web\"} 5")
    });
    let Some(s) = parse_prometheus(&text) else {
        missing("python3 prometheus_client");
        return;
    };
    let ep = |code| {
        value(
            &s,
            "proxyd_entrypoint_requests_total",
            &[("entrypoint", "web"), ("code", code)],
        )
    };
    assert_eq!((ep("200"), ep("404")), (6.0, 5.0), "{text}");
    let router = |r, code, m| {
        value(
            &s,
            "proxyd_router_requests_total",
            &[("router", r), ("code", code), ("method", m)],
        )
    };
    assert_eq!(router("a@file", "200", "GET"), 5.0, "{text}");
    assert_eq!(router("a@file", "200", "POST"), 1.0, "{text}");
    assert_eq!(router("b@file", "404", "GET"), 3.0, "{text}");
    let svc = |name| value(&s, "proxyd_service_requests_total", &[("service", name)]);
    assert_eq!((svc("svc_a@file"), svc("svc_b@file")), (6.0, 3.0));
    // Histogram counts equal request counts, buckets are cumulative.
    let hist = |level: &str, l: (&str, &str), suffix: &str, extra: &[(&str, &str)]| {
        let mut want = vec![l];
        want.extend_from_slice(extra);
        value(
            &s,
            &format!("proxyd_{level}_request_duration_seconds_{suffix}"),
            &want,
        )
    };
    assert_eq!(hist("router", ("router", "a@file"), "count", &[]), 6.0);
    assert_eq!(
        hist("service", ("service", "svc_b@file"), "count", &[]),
        3.0
    );
    assert_eq!(
        hist("entrypoint", ("entrypoint", "web"), "count", &[]),
        11.0
    );
    assert_eq!(
        hist(
            "entrypoint",
            ("entrypoint", "web"),
            "bucket",
            &[("le", "+Inf")]
        ),
        11.0
    );
    let le1 = hist(
        "entrypoint",
        ("entrypoint", "web"),
        "bucket",
        &[("le", "1")],
    );
    let le5ms = hist(
        "entrypoint",
        ("entrypoint", "web"),
        "bucket",
        &[("le", "0.005")],
    );
    assert!(le5ms <= le1 && le1 == 11.0, "{text}");
    assert!(hist("entrypoint", ("entrypoint", "web"), "sum", &[]) > 0.0);
    assert_eq!(
        value(
            &s,
            "proxyd_entrypoint_requests_bytes_total",
            &[("entrypoint", "web"), ("method", "POST")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &s,
            "proxyd_service_responses_bytes_total",
            &[("service", "svc_b@file")]
        ),
        12.0,
        "three 4-byte bodies"
    );
    assert_eq!(
        value(
            &s,
            "proxyd_service_server_up",
            &[("service", "svc_a@file"), ("url", &a.url())]
        ),
        1.0
    );
    assert_eq!(value(&s, "proxyd_config_last_reload_success", &[]), 1.0);
    assert_eq!(value(&s, "proxyd_config_reloads_total", &[]), 0.0);
    assert!(
        value(
            &s,
            "proxyd_config_last_reload_success_timestamp_seconds",
            &[]
        ) > 1.6e9
    );
    assert!(
        s.iter()
            .any(|(n, l, _)| n == "proxyd_open_connections" && l["entrypoint"] == "web")
    );
    // Admin routers are not reported as routers (Traefik without addInternals).
    assert!(!text.contains("router=\"prometheus@internal\""), "{text}");
}

#[test]
fn metrics_count_reloads() {
    let a = Upstream::echo("a");
    let b = Upstream::echo("b");
    let cfg = with_admin(
        ProxyConfig::new(&two_apps(&a, &b)),
        "[metrics.prometheus]\n",
    );
    let p = Proxy::start(&cfg);
    std::fs::write(
        p.dynamic_dir().join("bad.toml"),
        "[http.routers.x]\nrule = 'Nope('\n",
    )
    .unwrap();
    p.signal(libc::SIGHUP);
    assert!(p.wait_log("configuration reload refused", Duration::from_secs(10)));
    let text = scrape_until(&p, |t| t.contains("proxyd_config_reloads_failure_total 1"));
    assert!(
        text.contains("proxyd_config_last_reload_success 0"),
        "{text}"
    );
    std::fs::remove_file(p.dynamic_dir().join("bad.toml")).unwrap();
    p.signal(libc::SIGHUP);
    let text = scrape_until(&p, |t| t.contains("proxyd_config_reloads_total 1"));
    assert!(
        text.contains("proxyd_config_last_reload_success 1"),
        "{text}"
    );
    if parse_prometheus(&text).is_none() {
        missing("python3 prometheus_client");
    }
}
