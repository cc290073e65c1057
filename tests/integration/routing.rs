//! Router rules (Traefik v3 matchers), priorities, entry-point restriction,
//! and the built-in services. Every router forwards to its own echo upstream
//! named after it, so the response (and the upstream's record) says which
//! router won.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::client::{get, request};
use crate::common::config::{lb_service, router};
use crate::common::*;

/// Routers as (name, rule, explicit priority); each gets upstream `name`.
struct Routes {
    proxy: Proxy,
    ups: Vec<Upstream>,
}

impl Routes {
    fn start(routes: &[(&str, &str, Option<i64>)]) -> Routes {
        let ups: Vec<Upstream> = routes.iter().map(|(n, _, _)| Upstream::echo(n)).collect();
        let mut dynamic = String::new();
        for ((name, rule, prio), up) in routes.iter().zip(&ups) {
            dynamic.push_str(&router(name, rule, &format!("svc_{name}")));
            if let Some(p) = prio {
                dynamic.push_str(&format!("priority = {p}\n"));
            }
            dynamic.push_str(&lb_service(&format!("svc_{name}"), &[up.url()]));
        }
        let proxy = Proxy::start(&ProxyConfig::new(&dynamic));
        Routes { proxy, ups }
    }

    /// Sends `raw` and returns (status, name of the upstream that answered).
    fn send(&self, raw: &str) -> (u16, Option<String>) {
        let r = request(self.proxy.addr(), raw);
        (r.status, r.upstream())
    }

    fn get(&self, host: &str, path: &str) -> (u16, Option<String>) {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"))
    }

    fn expect(&self, host: &str, path: &str, want: Option<&str>) {
        let (status, up) = self.get(host, path);
        match want {
            Some(name) => {
                assert_eq!(status, 200, "GET {host}{path}");
                assert_eq!(up.as_deref(), Some(name), "GET {host}{path} routed to");
            }
            None => assert_eq!(status, 404, "GET {host}{path} should match no router"),
        }
    }

    fn upstream(&self, name: &str) -> &Upstream {
        self.ups.iter().find(|u| u.name == name).unwrap()
    }
}

#[test]
fn routing_host_matcher() {
    let r = Routes::start(&[("a", "Host(`a.test`)", None), ("b", "Host(`b.test`)", None)]);
    r.expect("a.test", "/", Some("a"));
    r.expect("b.test", "/anything?x=1", Some("b"));
    r.expect("c.test", "/", None);
    // The upstream sees the request as sent: path, query, Host.
    let seen = r.upstream("b").only_request();
    assert_eq!(seen.request_line(), "GET /anything?x=1 HTTP/1.1");
    assert_eq!(seen.header("host"), Some("b.test"));
}

#[test]
fn routing_path_exact_vs_prefix() {
    let r = Routes::start(&[
        ("exact", "Host(`p.test`) && Path(`/exact`)", None),
        ("prefix", "Host(`p.test`) && PathPrefix(`/api`)", None),
    ]);
    r.expect("p.test", "/exact", Some("exact"));
    r.expect("p.test", "/exact/more", None);
    r.expect("p.test", "/api", Some("prefix"));
    r.expect("p.test", "/api/v1/users?id=3", Some("prefix"));
    r.expect("p.test", "/other", None);
    assert_eq!(
        r.upstream("prefix").requests()[1].target,
        "/api/v1/users?id=3"
    );
}

#[test]
fn routing_method_and_default_length_priority() {
    // The longer rule wins by default priority (rule length).
    let r = Routes::start(&[
        ("any", "Host(`m.test`)", None),
        ("post", "Host(`m.test`) && Method(`POST`)", None),
    ]);
    let (s, up) = r.send("POST /x HTTP/1.1\r\nHost: m.test\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!((s, up.as_deref()), (200, Some("post")));
    r.expect("m.test", "/x", Some("any"));
    let seen = r.upstream("post").only_request();
    assert_eq!(seen.body, b"abc");
}

#[test]
fn routing_header_matcher() {
    let r = Routes::start(&[
        (
            "canary",
            "Host(`h.test`) && Header(`X-Env`, `canary`)",
            None,
        ),
        ("stable", "Host(`h.test`)", None),
    ]);
    let (s, up) = r.send("GET / HTTP/1.1\r\nHost: h.test\r\nX-Env: canary\r\n\r\n");
    assert_eq!((s, up.as_deref()), (200, Some("canary")));
    let (s, up) = r.send("GET / HTTP/1.1\r\nHost: h.test\r\nX-Env: prod\r\n\r\n");
    assert_eq!((s, up.as_deref()), (200, Some("stable")));
    r.expect("h.test", "/", Some("stable"));
}

#[test]
fn routing_query_matcher() {
    let r = Routes::start(&[
        ("v2", "Host(`q.test`) && Query(`v`, `2`)", None),
        ("rest", "Host(`q.test`)", None),
    ]);
    r.expect("q.test", "/?v=2", Some("v2"));
    r.expect("q.test", "/path?a=1&v=2", Some("v2"));
    r.expect("q.test", "/?v=3", Some("rest"));
    r.expect("q.test", "/", Some("rest"));
}

#[test]
fn routing_client_ip_matcher() {
    let r = Routes::start(&[
        (
            "local1",
            "Host(`ip.test`) && ClientIP(`127.0.0.1`)",
            Some(100),
        ),
        (
            "loopnet",
            "Host(`ip.test`) && ClientIP(`127.0.0.0/8`)",
            Some(50),
        ),
        (
            "tennet",
            "Host(`ip10.test`) && ClientIP(`10.0.0.0/8`)",
            None,
        ),
    ]);
    r.expect("ip.test", "/", Some("local1"));
    r.expect("ip10.test", "/", None);
    let two = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut c = Client::connect_from(two, r.proxy.addr());
    let resp = c.request("GET / HTTP/1.1\r\nHost: ip.test\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.upstream().as_deref(),
        Some("loopnet"),
        "client 127.0.0.2"
    );
}

#[test]
fn routing_negation_and_parentheses() {
    let r = Routes::start(&[
        ("notadmin", "Host(`n.test`) && !PathPrefix(`/admin`)", None),
        (
            "either",
            "(Host(`o1.test`) || Host(`o2.test`)) && Path(`/x`)",
            None,
        ),
    ]);
    r.expect("n.test", "/public", Some("notadmin"));
    r.expect("n.test", "/admin/panel", None);
    r.expect("o1.test", "/x", Some("either"));
    r.expect("o2.test", "/x", Some("either"));
    r.expect("o2.test", "/y", None);
    r.expect("o3.test", "/x", None);
}

#[test]
fn routing_host_regexp_and_path_regexp() {
    let r = Routes::start(&[
        ("wild", r"HostRegexp(`^[a-z]+\.wild\.test$`)", None),
        (
            "num",
            r"Host(`r.test`) && PathRegexp(`^/item/[0-9]+$`)",
            None,
        ),
    ]);
    r.expect("foo.wild.test", "/", Some("wild"));
    r.expect("bar.wild.test", "/z", Some("wild"));
    r.expect("foo.bar.wild.test", "/", None);
    r.expect("r.test", "/item/42", Some("num"));
    r.expect("r.test", "/item/abc", None);
}

#[test]
fn routing_header_regexp_and_query_regexp() {
    let r = Routes::start(&[
        (
            "hre",
            r"Host(`x.test`) && HeaderRegexp(`X-Ver`, `^v[0-9]+$`)",
            None,
        ),
        (
            "qre",
            r"Host(`x.test`) && QueryRegexp(`id`, `^[0-9]+$`)",
            None,
        ),
    ]);
    let (s, up) = r.send("GET / HTTP/1.1\r\nHost: x.test\r\nX-Ver: v12\r\n\r\n");
    assert_eq!((s, up.as_deref()), (200, Some("hre")));
    let (s, _) = r.send("GET / HTTP/1.1\r\nHost: x.test\r\nX-Ver: beta\r\n\r\n");
    assert_eq!(s, 404);
    r.expect("x.test", "/?id=123", Some("qre"));
    r.expect("x.test", "/?id=abc", None);
}

#[test]
fn routing_host_is_case_insensitive() {
    let r = Routes::start(&[("a", "Host(`app.test`)", None)]);
    r.expect("APP.Test", "/", Some("a"));
}

#[test]
fn priority_explicit_overrides_length() {
    let r = Routes::start(&[
        (
            "long",
            "Host(`p.test`) && PathPrefix(`/`) && Method(`GET`)",
            None,
        ),
        ("short", "Host(`p.test`)", Some(1000)),
    ]);
    r.expect("p.test", "/", Some("short"));
    assert_eq!(r.upstream("long").requests().len(), 0);
}

#[test]
fn priority_explicit_low_loses_to_default() {
    let r = Routes::start(&[
        ("low", "Host(`p.test`) && PathPrefix(`/`)", Some(1)),
        ("dflt", "Host(`p.test`)", None),
    ]);
    r.expect("p.test", "/", Some("dflt"));
}

#[test]
fn priority_tie_broken_by_router_name() {
    let r = Routes::start(&[
        ("zeta", "Host(`t.test`)", Some(5)),
        ("alpha", "Host(`t.test`)", Some(5)),
    ]);
    for _ in 0..3 {
        r.expect("t.test", "/", Some("alpha"));
    }
}

#[test]
fn routing_entry_points_restriction() {
    let up = Upstream::echo("adm");
    let dynamic = format!(
        "{}entryPoints = [\"admin\"]\n{}",
        router("adm", "Host(`x.test`)", "adm"),
        lb_service("adm", &[up.url()])
    );
    let cfg = ProxyConfig::new(&dynamic).entry_point(EntryPoint::new("admin"));
    let p = Proxy::start(&cfg);
    assert_ne!(p.addr_of("web"), p.addr_of("admin"));
    assert_eq!(get(p.addr_of("web"), "x.test", "/").status, 404);
    let r = get(p.addr_of("admin"), "x.test", "/");
    assert_eq!(r.status, 200);
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn not_found_is_plain_text_404() {
    let r = Routes::start(&[("a", "Host(`a.test`)", None)]);
    let resp = get(r.proxy.addr(), "nowhere.test", "/");
    assert_eq!(resp.status, 404);
    assert!(!resp.body.is_empty(), "404 should carry a body");
    if let Some(ct) = resp.header("content-type") {
        assert!(ct.starts_with("text/plain"), "content-type {ct}");
    }
    assert_eq!(r.upstream("a").connections(), 0);
}

#[test]
fn respond_service_fixed_response() {
    let dynamic = "[http.routers.hello]\nrule = 'Host(`hello.test`)'\nservice = \"hello\"\n\
                   [http.services.hello.respond]\nstatus = 200\nbody = \"hello\\n\"\n";
    let p = Proxy::start(&ProxyConfig::new(dynamic));
    let r = get(p.addr(), "hello.test", "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello\n");
}

#[test]
fn whoami_internal_service() {
    let dynamic = router("who", "Host(`who.test`)", "whoami@internal");
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let r = request(
        p.addr(),
        "GET /who?x=1 HTTP/1.1\r\nHost: who.test\r\nX-Probe: 42\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.contains("Hostname: "), "{text}");
    assert!(text.contains("RemoteAddr: 127.0.0.1:"), "{text}");
    assert!(text.lines().any(|l| l == "GET /who?x=1 HTTP/1.1"), "{text}");
    assert!(text.lines().any(|l| l == "X-Probe: 42"), "{text}");
}
