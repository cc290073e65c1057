//! redirectScheme, redirectRegex, ipAllowList and ipWhiteList definitions:
//! what compiles to what, and what is refused with which key.

use crate::config::tests_dynamic::{errs, ok, setup};
use crate::middleware::Middleware;
use crate::middleware::ip_strategy::IpStrategy;

const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

/// Compiles `defs` and calls `check` with each definition by bare name.
fn each(defs: &str, mut check: impl FnMut(&str, &Middleware)) {
    let text = format!("{SVC}{defs}");
    let s = setup(&[("m.toml", &text)]);
    for d in &ok(&s.st).middlewares {
        check(d.name.trim_end_matches("@file"), &d.kind);
    }
}

#[test]
fn redirects_compile_with_traefik_defaults() {
    let defs = r#"
[http.middlewares.tls.redirectScheme]
scheme = "https"
[http.middlewares.port.redirectScheme]
scheme = "https"
port = "8443"
permanent = true
[http.middlewares.num.redirectScheme]
scheme = "http"
port = 80
[http.middlewares.re.redirectRegex]
regex = "^http://([^/]+)/(.*)"
replacement = "https://${1}/new/$2"
"#;
    let mut seen = 0;
    each(defs, |name, kind| {
        seen += 1;
        match (name, kind) {
            ("tls", Middleware::RedirectScheme(m)) => {
                assert_eq!(
                    (m.scheme.as_str(), m.port.as_str(), m.permanent),
                    ("https", "", false)
                );
            }
            ("port", Middleware::RedirectScheme(m)) => {
                assert_eq!((m.port.as_str(), m.permanent), (":8443", true));
            }
            // The scheme's default port is left out of the URL.
            ("num", Middleware::RedirectScheme(m)) => assert_eq!(m.port, ""),
            ("re", Middleware::RedirectRegex(m)) => {
                assert_eq!(m.replacement, "https://${1}/new/$2");
                assert!(!m.permanent);
            }
            other => panic!("{other:?}"),
        }
        assert!(["redirectScheme", "redirectRegex"].contains(&kind.type_name()));
    });
    assert_eq!(seen, 4);
}

#[test]
fn ip_lists_compile_with_the_strategy_traefik_picks() {
    let defs = r#"
[http.middlewares.plain.ipAllowList]
sourceRange = ["127.0.0.1", "10.0.0.0/8"]
[http.middlewares.depth.ipAllowList]
sourceRange = ["::1"]
rejectStatusCode = 404
[http.middlewares.depth.ipAllowList.ipStrategy]
depth = 2
excludedIPs = ["10.0.0.1"]
ipv6Subnet = 64
[http.middlewares.excl.ipWhiteList]
sourceRange = ["127.0.0.1"]
[http.middlewares.excl.ipWhiteList.ipStrategy]
excludedIPs = ["10.0.0.1"]
ipv6Subnet = 0
"#;
    let mut seen = 0;
    each(defs, |name, kind| {
        seen += 1;
        match (name, kind) {
            ("plain", Middleware::IpAllowList(m)) => {
                assert_eq!((m.reject_status, m.reject_body), (403, "Forbidden"));
                assert!(matches!(
                    m.strategy,
                    IpStrategy::RemoteAddr { ipv6_subnet: None }
                ));
            }
            // depth wins over excludedIPs.
            ("depth", Middleware::IpAllowList(m)) => {
                assert_eq!((m.reject_status, m.reject_body), (404, "Not Found"));
                assert!(matches!(
                    m.strategy,
                    IpStrategy::Depth {
                        depth: 2,
                        ipv6_subnet: Some(64)
                    }
                ));
            }
            // excludedIPs ignores ipv6Subnet (not even checked), as Traefik does.
            ("excl", Middleware::IpWhiteList(m)) => {
                assert_eq!(m.reject_status, 403);
                assert!(matches!(m.strategy, IpStrategy::Excluded(_)));
                assert_eq!(kind.type_name(), "ipWhiteList");
            }
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(seen, 3);
}

#[test]
fn bad_values_are_refused_with_key_and_reason() {
    let text = format!(
        r#"{SVC}
[http.middlewares.a.redirectScheme]
port = "443"
[http.middlewares.b.redirectScheme]
scheme = "1x"
[http.middlewares.c.redirectScheme]
scheme = "https"
port = "44a"
[http.middlewares.d.redirectScheme]
scheme = "https"
port = 70000
[http.middlewares.e.redirectRegex]
regex = "^(.*"
replacement = "$1"
[http.middlewares.f.redirectRegex]
regex = "^/"
[http.middlewares.g.ipAllowList]
[http.middlewares.h.ipAllowList]
sourceRange = ["10.0.0.1", "foo"]
[http.middlewares.i.ipAllowList]
sourceRange = ["10.0.0.1"]
rejectStatusCode = 600
[http.middlewares.j.ipAllowList]
sourceRange = ["10.0.0.1"]
rejectStatusCode = 100
[http.middlewares.k.ipAllowList]
sourceRange = ["10.0.0.1"]
[http.middlewares.k.ipAllowList.ipStrategy]
depth = 1
ipv6Subnet = 129
[http.middlewares.l.ipAllowList]
sourceRange = ["10.0.0.1"]
[http.middlewares.l.ipAllowList.ipStrategy]
excludedIPs = ["10.0.0.0/33"]
[http.middlewares.m.ipWhiteList]
sourceRange = ["10.0.0.1"]
rejectStatusCode = 404
[http.middlewares.n.ipAllowList]
sourceRange = ["10.0.0.1"]
[http.middlewares.n.ipAllowList.ipStrategy]
ipv6Subnet = 0
"#
    );
    let (_, errors) = errs(&[("m.toml", &text)]);
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    let want = [
        (
            "http.middlewares.a.redirectScheme.scheme",
            "you must provide a target scheme",
        ),
        (
            "http.middlewares.b.redirectScheme.scheme",
            "is not a URL scheme",
        ),
        (
            "http.middlewares.c.redirectScheme.port",
            "`44a` is not a port",
        ),
        (
            "http.middlewares.d.redirectScheme.port",
            "`70000` is not a port",
        ),
        (
            "http.middlewares.e.redirectRegex.regex",
            "invalid regular expression",
        ),
        ("http.middlewares.f.redirectRegex.replacement", "missing"),
        ("http.middlewares.g.ipAllowList.sourceRange", "missing"),
        (
            "http.middlewares.h.ipAllowList.sourceRange[1]",
            "`foo` is neither an IP",
        ),
        (
            "http.middlewares.i.ipAllowList.rejectStatusCode",
            "invalid HTTP status code 600",
        ),
        (
            "http.middlewares.j.ipAllowList.rejectStatusCode",
            "cannot carry a response body",
        ),
        (
            "http.middlewares.k.ipAllowList.ipStrategy.ipv6Subnet",
            "invalid IPv6 subnet 129",
        ),
        (
            "http.middlewares.l.ipAllowList.ipStrategy.excludedIPs[0]",
            "`10.0.0.0/33`",
        ),
        (
            "http.middlewares.m.ipWhiteList.rejectStatusCode",
            "ipWhiteList always answers 403",
        ),
        (
            "http.middlewares.n.ipAllowList.ipStrategy.ipv6Subnet",
            "invalid IPv6 subnet 0",
        ),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((key, reason), (want_key, want_reason)) in got.iter().zip(want) {
        assert_eq!(*key, want_key, "{got:#?}");
        assert!(reason.contains(want_reason), "{key}: {reason}");
    }
}
