//! The headers middleware on real requests: custom request headers reaching
//! the upstream (set, replace, remove, Host), custom response headers on
//! proxied and local answers, CORS preflights answered by the proxy vs simple
//! requests vs a disallowed origin, the security headers over TLS and
//! plaintext (HSTS only over TLS), allowedHosts refusing other hosts, and a
//! refused definition with its key.

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::behavior::Behavior;
use crate::common::config::{lb_service, router};
use crate::common::*;

/// A router `r` on every path using middleware `h` (defined by `defs`), to `up`.
fn routed(up: &Upstream, defs: &str) -> String {
    format!(
        "{}middlewares = [\"h\"]\n{}{defs}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
    )
}

fn send(p: &Proxy, raw: &str) -> client::Response {
    client::request(p.addr(), raw)
}

#[test]
fn custom_request_headers_set_replace_and_remove_what_the_upstream_sees() {
    let up = Upstream::echo("up");
    let defs = "[http.middlewares.h.headers.customRequestHeaders]\n\
                X-Script-Name = \"test\"\nX-Replace = \"new\"\nX-Gone = \"\"\n\
                Host = \"backend.test\"\nX-Forwarded-Host = \"\"\nX-Forwarded-For = \"\"\n";
    let p = Proxy::start(&ProxyConfig::new(&routed(&up, defs)));
    let r = send(
        &p,
        "GET /a HTTP/1.1\r\nHost: app.test\r\nX-Replace: old\r\nX-Replace: old2\r\nX-Gone: 1\r\nX-Kept: k\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let s = up.only_request();
    assert_eq!(s.headers_named("X-Script-Name"), ["test"]);
    assert_eq!(s.headers_named("X-Replace"), ["new"]);
    assert!(!s.has_header("X-Gone"), "{:?}", s.headers);
    assert_eq!(s.headers_named("Host"), ["backend.test"]);
    // Removed forwarding headers are not regenerated (for X-Forwarded-For,
    // Go's "nil means do not populate").
    assert!(!s.has_header("X-Forwarded-Host"), "{:?}", s.headers);
    assert!(!s.has_header("X-Forwarded-For"), "{:?}", s.headers);
    assert!(s.has_header("X-Forwarded-Proto"), "{:?}", s.headers);
    assert_eq!(s.headers_named("X-Kept"), ["k"]);
}

#[test]
fn custom_response_headers_reach_the_client_proxied_and_local() {
    let up = Upstream::start(
        "up",
        Behavior {
            headers: vec![("Server".into(), "up".into()), ("X-Up".into(), "1".into())],
            ..Behavior::fixed(200, b"ok")
        },
    );
    let defs = "[http.middlewares.h.headers.customResponseHeaders]\n\
                X-Custom-Response-Header = \"value\"\nServer = \"\"\n\
                [http.services.local.respond]\nbody = \"here\"\n";
    let dynamic = format!(
        "{}{}middlewares = [\"h\"]\n",
        routed(&up, defs),
        router("l", "PathPrefix(`/local`)", "local"),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let r = send(&p, "GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers_named("X-Custom-Response-Header"), ["value"]);
    assert!(r.header("Server").is_none(), "{:?}", r.headers);
    assert_eq!(r.headers_named("X-Up"), ["1"]);
    let r = send(&p, "GET /local HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.text(), "here");
    assert_eq!(r.headers_named("X-Custom-Response-Header"), ["value"]);
}

const CORS: &str = "[http.middlewares.h.headers]\n\
    accessControlAllowMethods = [\"GET\", \"OPTIONS\", \"PUT\"]\n\
    accessControlAllowHeaders = [\"X-Token\"]\n\
    accessControlAllowOriginList = [\"https://foo.bar.org\"]\n\
    accessControlMaxAge = 100\naddVaryHeader = true\n";

#[test]
fn cors_preflight_is_answered_by_the_proxy() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&routed(&up, CORS)));
    let r = send(
        &p,
        "OPTIONS /api HTTP/1.1\r\nHost: app.test\r\nOrigin: https://foo.bar.org\r\n\
         Access-Control-Request-Method: PUT\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.headers_named("Access-Control-Allow-Origin"),
        ["https://foo.bar.org"]
    );
    assert_eq!(
        r.headers_named("Access-Control-Allow-Methods"),
        ["GET,OPTIONS,PUT"]
    );
    assert_eq!(r.headers_named("Access-Control-Allow-Headers"), ["X-Token"]);
    assert_eq!(r.headers_named("Access-Control-Max-Age"), ["100"]);
    assert_eq!(r.headers_named("Content-Length"), ["0"]);
    assert!(r.header("Content-Type").is_none(), "{:?}", r.headers);
    // A disallowed origin still gets the preflight answer, without the origin.
    let r = send(
        &p,
        "OPTIONS /api HTTP/1.1\r\nHost: app.test\r\nOrigin: https://evil.test\r\n\
         Access-Control-Request-Method: PUT\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert!(r.header("Access-Control-Allow-Origin").is_none());
    // An OPTIONS without Access-Control-Request-Method is not a preflight.
    let r = send(
        &p,
        "OPTIONS /api HTTP/1.1\r\nHost: app.test\r\nOrigin: https://foo.bar.org\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(up.requests().len(), 1, "a preflight reached the upstream");
}

#[test]
fn cors_simple_request_gets_the_headers_and_a_disallowed_origin_does_not() {
    let up = Upstream::start(
        "up",
        Behavior {
            headers: vec![("Vary".into(), "Accept".into())],
            ..Behavior::fixed(200, b"ok")
        },
    );
    let p = Proxy::start(&ProxyConfig::new(&routed(&up, CORS)));
    let r = send(
        &p,
        "GET /api HTTP/1.1\r\nHost: app.test\r\nOrigin: https://foo.bar.org\r\n\r\n",
    );
    assert_eq!(r.text(), "ok");
    assert_eq!(
        r.headers_named("Access-Control-Allow-Origin"),
        ["https://foo.bar.org"]
    );
    assert_eq!(r.headers_named("Vary"), ["Accept,Origin"]);
    assert!(
        r.header("Access-Control-Max-Age").is_none(),
        "max-age is for preflights"
    );
    let r = send(
        &p,
        "GET /api HTTP/1.1\r\nHost: app.test\r\nOrigin: https://evil.test\r\n\r\n",
    );
    assert_eq!(r.text(), "ok");
    assert!(
        r.header("Access-Control-Allow-Origin").is_none(),
        "{:?}",
        r.headers
    );
    assert_eq!(up.requests().len(), 2);
}

const SECURE: &str = "[http.middlewares.h.headers]\n\
    stsSeconds = 31536000\nstsIncludeSubdomains = true\nstsPreload = true\n\
    frameDeny = true\ncontentTypeNosniff = true\nbrowserXssFilter = true\n\
    referrerPolicy = \"same-origin\"\ncontentSecurityPolicy = \"default-src 'self'\"\n\
    permissionsPolicy = \"camera=()\"\n\
    accessControlAllowOriginList = [\"*\"]\n\
    [http.middlewares.h.headers.customResponseHeaders]\nX-Referrer = \"\"\nX-Extra = \"1\"\n";

const STS: &str = "Strict-Transport-Security: max-age=31536000; includeSubDomains; preload";

#[test]
fn security_headers_with_hsts_only_over_tls() {
    let site = crate::tls::Site::new();
    let dynamic = format!(
        "{}middlewares = [\"h\"]\n[http.routers.r.tls]\n{}middlewares = [\"h\"]\n{SECURE}{}",
        router("r", "PathPrefix(`/`)", "whoami@internal"),
        router("plain", "PathPrefix(`/`)", "whoami@internal"),
        crate::tls::certs_toml(true),
    );
    let p = crate::tls::start_with(&site, &dynamic, |c| c);
    let cfg = crate::tls::pki::client_config(crate::tls::pki::Opts::default());
    let mut s = crate::tls::pki::connect(p.addr(), "a.test", cfg).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: a.test\r\nOrigin: https://x.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let expected = [
        STS,
        "X-Frame-Options: DENY",
        "X-Content-Type-Options: nosniff",
        "X-XSS-Protection: 1; mode=block",
        "Referrer-Policy: same-origin",
        "Content-Security-Policy: default-src 'self'",
        "Permissions-Policy: camera=()",
        "Access-Control-Allow-Origin: *",
        "X-Extra: 1",
    ];
    for line in expected {
        assert!(
            out.contains(&format!("{line}\r\n")),
            "{line} missing:\n{out}"
        );
    }
    let r = send(&p, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("Strict-Transport-Security").is_none(),
        "{:?}",
        r.headers
    );
    assert_eq!(r.headers_named("X-Frame-Options"), ["DENY"]);
    assert_eq!(r.headers_named("Referrer-Policy"), ["same-origin"]);
    assert_eq!(r.headers_named("X-Extra"), ["1"]);
}

#[test]
fn allowed_hosts_refuse_other_hosts_without_calling_the_service() {
    let up = Upstream::echo("up");
    let defs = "[http.middlewares.h.headers]\nallowedHosts = [\"app.test\"]\nframeDeny = true\n";
    let p = Proxy::start(&ProxyConfig::new(&routed(&up, defs)));
    let r = send(&p, "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n");
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), "Bad Host\n");
    assert_eq!(r.headers_named("X-Content-Type-Options"), ["nosniff"]);
    assert!(r.header("X-Frame-Options").is_none(), "{:?}", r.headers);
    assert!(up.requests().is_empty());
    let r = send(&p, "GET / HTTP/1.1\r\nHost: APP.test\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers_named("X-Frame-Options"), ["DENY"]);
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn unsafe_custom_headers_are_refused_with_their_keys() {
    let up = Upstream::echo("up");
    let defs = "[http.middlewares.h.headers.customRequestHeaders]\nConnection = \"close\"\n\
                [http.middlewares.g.headers]\nsslRedirect = true\n";
    let (_dir, file) = ProxyConfig::new(&routed(&up, defs)).write();
    let out = proxy::run_to_exit(
        &["check", "--config", file.to_str().unwrap()],
        None,
        Duration::from_secs(15),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("http.middlewares.h.headers.customRequestHeaders.Connection: `Connection` is a framing or hop-by-hop header"),
        "{err}"
    );
    assert!(
        err.contains("http.middlewares.g.headers.sslRedirect: removed in Traefik v3"),
        "{err}"
    );
}

/// Traefik wraps each middleware around the next, so the response passes the
/// router's last middleware first and the entry point's first middleware last:
/// the earliest middleware's response header wins, on proxied and local
/// answers alike, while request headers go the other way (the last one's wins).
#[test]
fn chain_response_headers_apply_innermost_first_as_traefik_wraps_them() {
    let up = Upstream::echo("up");
    let mut defs = format!(
        "{}middlewares = [\"outer\", \"inner\"]\n{}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
    );
    defs.push_str(&router("local", "Host(`local.test`)", "local"));
    defs.push_str(
        "middlewares = [\"outer\", \"inner\"]\n[http.services.local.respond]\nbody = \"ok\"\n",
    );
    for name in ["outer", "inner"] {
        defs.push_str(&format!(
            "[http.middlewares.{name}.headers.customResponseHeaders]\nX-Who = \"{name}\"\n\
             [http.middlewares.{name}.headers.customRequestHeaders]\nX-Who = \"{name}\"\n"
        ));
    }
    let p = Proxy::start(&ProxyConfig::new(&defs));
    let r = send(&p, "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers_named("X-Who"), ["outer"], "proxied");
    assert_eq!(up.only_request().headers_named("X-Who"), ["inner"]);
    let r = send(&p, "GET / HTTP/1.1\r\nHost: local.test\r\n\r\n");
    assert_eq!(r.headers_named("X-Who"), ["outer"], "local answer");
}

/// The proxy's own error answers pass the router's middlewares too (in Traefik
/// they wrap the error handler's writer); a request routed nowhere afterwards
/// on the same connection, or refused before routing, gets none of them.
#[test]
fn response_edits_reach_the_proxys_502_and_not_the_next_requests_404() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let defs = format!(
        "{}middlewares = [\"h\"]\n{}[http.middlewares.h.headers.customResponseHeaders]\nX-Edge = \"1\"\n",
        router("r", "Host(`app.test`)", "s"),
        lb_service("s", &[url]),
    );
    let p = Proxy::start(&ProxyConfig::new(&defs));
    let mut c = client::Client::connect(p.addr());
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.headers_named("X-Edge"), ["1"]);
    assert_eq!(r.text(), "502 Bad Gateway\n");
    let r = c.request("GET / HTTP/1.1\r\nHost: other.test\r\n\r\n");
    assert_eq!(r.status, 404);
    assert!(r.headers_named("X-Edge").is_empty(), "{:?}", r.headers);
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.headers_named("X-Edge"), ["1"]);
    // A head that does not parse is answered before any routing.
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\nno colon\r\n\r\n");
    assert_eq!(r.status, 400);
    assert!(r.headers_named("X-Edge").is_empty(), "{:?}", r.headers);
}
