//! The middleware chain on real requests: the path middlewares as Traefik
//! defines them (stripPrefix on `/api` vs `/apiv2`, regex replacements with
//! capture groups, `X-Forwarded-Prefix` / `X-Replaced-Path`), chains flattened
//! in order, entry-point middlewares first, the same over TLS, and refused
//! configurations (unknown middleware, chain cycle) with their promised text.

use std::io::{Read, Write};

use crate::common::config::{lb_service, router};
use crate::common::*;

/// A router `r` on `rule` with `middlewares`, to the recording upstream.
fn routed(up: &Upstream, rule: &str, middlewares: &[&str], defs: &str) -> String {
    let list: Vec<String> = middlewares.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "{}middlewares = [{}]\n{}{defs}",
        router("r", rule, "s"),
        list.join(", "),
        lb_service("s", &[up.url()]),
    )
}

/// Sends `GET target`, expects 200 and returns what the upstream received.
fn forwarded(p: &Proxy, up: &Upstream, target: &str) -> upstream::Seen {
    let before = up.requests().len();
    let r = client::request(
        p.addr(),
        &format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n\r\n"),
    );
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    let seen = up.requests();
    assert_eq!(seen.len(), before + 1, "{target}");
    seen[before].clone()
}

const STRIP_API: &str = "[http.middlewares.strip.stripPrefix]\nprefixes = [\"/api\"]\n";

#[test]
fn strip_prefix_forwards_the_rest_and_x_forwarded_prefix() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&routed(
        &up,
        "PathPrefix(`/`)",
        &["strip"],
        STRIP_API,
    )));
    let s = forwarded(&p, &up, "/api/users?page=2");
    assert_eq!(s.target, "/users?page=2");
    assert_eq!(s.headers_named("X-Forwarded-Prefix"), ["/api"]);
    // A plain prefix, as in Traefik: `/api` strips `/apiv2` too.
    assert_eq!(forwarded(&p, &up, "/apiv2/x").target, "/v2/x");
    // The whole path stripped: `/` goes upstream.
    assert_eq!(forwarded(&p, &up, "/api").target, "/");
    // No match: untouched, no header.
    let s = forwarded(&p, &up, "/other");
    assert_eq!(s.target, "/other");
    assert!(!s.has_header("X-Forwarded-Prefix"));
}

#[test]
fn strip_prefix_refuses_dot_segments_it_would_expose() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&routed(
        &up,
        "PathPrefix(`/`)",
        &["strip"],
        STRIP_API,
    )));
    let r = client::request(
        p.addr(),
        "GET /api../etc HTTP/1.1\r\nHost: app.test\r\n\r\n",
    );
    assert_eq!(r.status, 400);
    assert_eq!(forwarded(&p, &up, "/api/ok").target, "/ok");
    assert_eq!(
        up.requests().len(),
        1,
        "the refused request reached the upstream"
    );
}

#[test]
fn replace_path_regex_expands_capture_groups_and_chains_run_in_order() {
    let up = Upstream::echo("up");
    let defs = "[http.middlewares.old.replacePathRegex]\nregex = \"^/old/(.*)\"\nreplacement = \"/new/$1\"\n\
                [http.middlewares.v2.addPrefix]\nprefix = \"/v2\"\n\
                [http.middlewares.both.chain]\nmiddlewares = [\"old\", \"v2@file\"]\n\
                [http.middlewares.fixed.replacePath]\npath = \"/fixed\"\n";
    let dynamic = format!(
        "{}{}middlewares = [\"fixed\"]\n",
        routed(&up, "PathPrefix(`/old`)", &["both"], defs),
        router("f", "PathPrefix(`/f`)", "s"),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let s = forwarded(&p, &up, "/old/a/b?q=1");
    assert_eq!(s.target, "/v2/new/a/b?q=1");
    assert_eq!(s.headers_named("X-Replaced-Path"), ["/old/a/b"]);
    let s = forwarded(&p, &up, "/f/anything");
    assert_eq!(s.target, "/fixed");
    assert_eq!(s.headers_named("X-Replaced-Path"), ["/f/anything"]);
}

#[test]
fn entry_point_middlewares_run_before_the_routers() {
    let up = Upstream::echo("up");
    let defs = format!("{STRIP_API}[http.middlewares.v1.addPrefix]\nprefix = \"/v1\"\n");
    let cfg = ProxyConfig::new(&routed(&up, "PathPrefix(`/`)", &["v1"], &defs)).web(|ep| {
        ep.extra
            .push_str("[entryPoints.web.http]\nmiddlewares = [\"strip@file\"]\n");
    });
    let p = Proxy::start(&cfg);
    assert_eq!(forwarded(&p, &up, "/api/x").target, "/v1/x");
}

#[test]
fn whoami_sees_the_request_as_middlewares_left_it_over_tls() {
    let site = crate::tls::Site::new();
    let dynamic = format!(
        "{}middlewares = [\"strip\"]\n[http.routers.r.tls]\n{STRIP_API}{}",
        router("r", "PathPrefix(`/`)", "whoami@internal"),
        crate::tls::certs_toml(true),
    );
    let p = crate::tls::start_with(&site, &dynamic, |c| c);
    let cfg = crate::tls::pki::client_config(crate::tls::pki::Opts::default());
    let mut s = crate::tls::pki::connect(p.addr(), "a.test", cfg).unwrap();
    write!(
        s,
        "GET /api/who?x=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("GET /who?x=1 HTTP/1.1\n"), "{out}");
    assert!(out.contains("X-Forwarded-Prefix: /api\n"), "{out}");
}

#[test]
fn unknown_middleware_and_chain_cycle_are_refused_with_their_keys() {
    let up = Upstream::echo("up");
    let defs = "[http.middlewares.a.chain]\nmiddlewares = [\"b\"]\n[http.middlewares.b.chain]\nmiddlewares = [\"a\"]\n";
    let dynamic = format!(
        "{}{}middlewares = [\"nope\"]\n",
        routed(&up, "PathPrefix(`/`)", &["a"], defs),
        router("q", "PathPrefix(`/q`)", "s"),
    );
    let (_dir, file) = ProxyConfig::new(&dynamic).write();
    let out = proxy::run_to_exit(
        &["check", "--config", file.to_str().unwrap()],
        None,
        std::time::Duration::from_secs(15),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "http.middlewares.a.chain.middlewares: chain cycle: a@file -> b@file -> a@file"
        ),
        "{err}"
    );
    assert!(
        err.contains("http.routers.q.middlewares: middleware `nope` is not defined"),
        "{err}"
    );
}
