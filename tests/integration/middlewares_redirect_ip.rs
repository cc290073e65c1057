//! redirectScheme, redirectRegex, ipAllowList and ipWhiteList on real
//! requests: HTTP→HTTPS with a port, 301/302/307/308 by method and
//! `permanent`, a request already on the target scheme going on, regex capture
//! groups, the allow list from 127.0.0.1, `depth` against a spoofed
//! `X-Forwarded-For` (trusted peer or not), `excludedIPs`, `rejectStatusCode`
//! and the `ipWhiteList` alias.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::config::{lb_service, router};
use crate::common::*;

/// A router on every path with `middlewares`, to the recording upstream.
fn start(up: &Upstream, middlewares: &[&str], defs: &str, trusted: &[&str]) -> Proxy {
    let list: Vec<String> = middlewares.iter().map(|m| format!("\"{m}\"")).collect();
    let dynamic = format!(
        "{}middlewares = [{}]\n{}{defs}",
        router("r", "PathPrefix(`/`)", "s"),
        list.join(", "),
        lb_service("s", &[up.url()]),
    );
    let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
    Proxy::start(&ProxyConfig::new(&dynamic).web(|ep| ep.trusted_ips = Some(trusted)))
}

fn send(p: &Proxy, method: &str, target: &str, extra: &str) -> client::Response {
    let body = if method == "POST" {
        "content-length: 0\r\n"
    } else {
        ""
    };
    client::request(
        p.addr(),
        &format!("{method} {target} HTTP/1.1\r\nHost: app.test:8080\r\n{body}{extra}\r\n"),
    )
}

/// Status, Location and body of a redirect the upstream never saw.
fn redirected(p: &Proxy, up: &Upstream, method: &str, target: &str) -> (u16, String, String) {
    let before = up.requests().len();
    let r = send(p, method, target, "");
    assert_eq!(
        up.requests().len(),
        before,
        "{method} {target} reached the upstream"
    );
    let loc = r.header("location").unwrap_or_default().to_string();
    (r.status, loc, r.text())
}

const TO_HTTPS: &str =
    "[http.middlewares.https.redirectScheme]\nscheme = \"https\"\nport = \"8443\"\n";
const TO_HTTPS_PERMANENT: &str = "[http.middlewares.https.redirectScheme]\nscheme = \"https\"\nport = \"8443\"\npermanent = true\n";

#[test]
fn redirect_scheme_to_https_with_port_temporary_by_method() {
    let up = Upstream::echo("up");
    let p = start(&up, &["https"], TO_HTTPS, &[]);
    let want = "https://app.test:8443/a/b?c=d".to_string();
    let got = redirected(&p, &up, "GET", "/a/b?c=d");
    assert_eq!(got, (302, want.clone(), "Found".into()));
    let got = redirected(&p, &up, "POST", "/a/b?c=d");
    assert_eq!(got, (307, want, "Temporary Redirect".into()));
    let r = send(&p, "GET", "/", "");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
}

#[test]
fn redirect_scheme_permanent_by_method() {
    let up = Upstream::echo("up");
    let p = start(&up, &["https"], TO_HTTPS_PERMANENT, &[]);
    let want = "https://app.test:8443/x".to_string();
    let got = redirected(&p, &up, "GET", "/x");
    assert_eq!(got, (301, want.clone(), "Moved Permanently".into()));
    let got = redirected(&p, &up, "POST", "/x");
    assert_eq!(got, (308, want, "Permanent Redirect".into()));
}

#[test]
fn redirect_scheme_lets_a_request_already_on_the_target_through() {
    // The request is `https://app.test:8443` by a trusted peer's
    // X-Forwarded-Proto; from an untrusted peer the header does not count.
    let defs = "[http.middlewares.https.redirectScheme]\nscheme = \"https\"\nport = \"8080\"\n";
    let up = Upstream::echo("up");
    let p = start(&up, &["https"], defs, &["127.0.0.2/32"]);
    let raw = "GET /ok HTTP/1.1\r\nHost: app.test:8080\r\nX-Forwarded-Proto: https\r\n\r\n";
    let r = Client::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), p.addr()).request(raw);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.requests().len(), 1);
    let r = Client::connect(p.addr()).request(raw);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://app.test:8080/ok"));
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn redirect_regex_expands_capture_groups() {
    let defs = r#"
[http.middlewares.moved.redirectRegex]
regex = "^http://([^/:]+)(:[0-9]+)?/old/(.*)"
replacement = "https://www.${1}/new/$3"
permanent = true
"#;
    let up = Upstream::echo("up");
    let p = start(&up, &["moved"], defs, &[]);
    let got = redirected(&p, &up, "GET", "/old/a/b?x=1");
    assert_eq!(
        got,
        (
            301,
            "https://www.app.test/new/a/b?x=1".into(),
            "Moved Permanently".into()
        )
    );
    assert_eq!(redirected(&p, &up, "POST", "/old/z").0, 308);
    // No match: forwarded untouched.
    let r = send(&p, "GET", "/other", "");
    assert_eq!(r.status, 200);
    assert_eq!(up.only_request().target, "/other");
}

const ALLOW_LOCAL: &str =
    "[http.middlewares.ips.ipAllowList]\nsourceRange = [\"127.0.0.1/32\", \"::1\"]\n";
const ALLOW_OTHER: &str = "[http.middlewares.ips.ipAllowList]\nsourceRange = [\"10.0.0.0/8\"]\n";

#[test]
fn ip_allow_list_from_the_peer_address() {
    let up = Upstream::echo("up");
    let p = start(&up, &["ips"], ALLOW_LOCAL, &[]);
    assert_eq!(send(&p, "GET", "/", "").status, 200);
    // 127.0.0.2 is outside 127.0.0.1/32; X-Forwarded-For does not matter.
    let two = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let raw = "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n";
    let r = Client::connect_from(two, p.addr()).request(raw);
    assert_eq!((r.status, r.text()), (403, "Forbidden".into()));
    assert_eq!(up.requests().len(), 1);

    let up = Upstream::echo("up");
    let p = start(&up, &["ips"], ALLOW_OTHER, &[]);
    let r = send(&p, "GET", "/", "");
    assert_eq!((r.status, r.text()), (403, "Forbidden".into()));
    assert!(up.requests().is_empty());
}

const DEPTH: &str = r#"
[http.middlewares.ips.ipAllowList]
sourceRange = ["10.0.0.0/8"]
[http.middlewares.ips.ipAllowList.ipStrategy]
depth = 2
"#;

#[test]
fn ip_allow_list_depth_with_a_spoofed_x_forwarded_for() {
    let up = Upstream::echo("up");
    let p = start(&up, &["ips"], DEPTH, &["127.0.0.1/32"]);
    // Trusted peer: the 2nd address from the right decides, whatever the
    // client put further left.
    let xff = |v: &str| format!("X-Forwarded-For: {v}\r\n");
    assert_eq!(
        send(&p, "GET", "/", &xff("6.6.6.6, 10.1.2.3, 192.0.2.9")).status,
        200
    );
    let r = send(&p, "GET", "/", &xff("10.9.9.9, 6.6.6.6, 192.0.2.9"));
    assert_eq!(r.status, 403);
    // Too short, missing or not an IP: refused.
    assert_eq!(send(&p, "GET", "/", &xff("10.1.2.3")).status, 403);
    assert_eq!(send(&p, "GET", "/", "").status, 403);
    assert_eq!(send(&p, "GET", "/", &xff("junk, 192.0.2.9")).status, 403);
    assert_eq!(up.requests().len(), 1);

    // Untrusted peer: its X-Forwarded-For is dropped (as Traefik does), so a
    // spoofed allowed address does not get it in.
    let up = Upstream::echo("up");
    let p = start(&up, &["ips"], DEPTH, &[]);
    let r = send(&p, "GET", "/", &xff("10.1.2.3, 192.0.2.9"));
    assert_eq!(r.status, 403);
    assert!(up.requests().is_empty());
}

#[test]
fn ip_allow_list_excluded_ips_and_reject_status_code() {
    let defs = r#"
[http.middlewares.ips.ipAllowList]
sourceRange = ["10.0.0.0/8"]
rejectStatusCode = 404
[http.middlewares.ips.ipAllowList.ipStrategy]
excludedIPs = ["192.0.2.0/24", "127.0.0.1"]
"#;
    let up = Upstream::echo("up");
    let p = start(&up, &["ips"], defs, &["127.0.0.1/32"]);
    let xff = |v: &str| format!("X-Forwarded-For: {v}\r\n");
    // The right-most address not excluded is 10.1.2.3.
    let r = send(
        &p,
        "GET",
        "/",
        &xff("6.6.6.6, 10.1.2.3, 192.0.2.7, 192.0.2.9"),
    );
    assert_eq!(r.status, 200);
    let r = send(&p, "GET", "/", &xff("10.1.2.3, 6.6.6.6, 192.0.2.9"));
    assert_eq!((r.status, r.text()), (404, "Not Found".into()));
    // Every address excluded: none left to allow.
    let r = send(&p, "GET", "/", &xff("192.0.2.1, 127.0.0.1"));
    assert_eq!(r.status, 404);
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn ip_white_list_is_the_deprecated_alias_with_403() {
    let defs = r#"
[http.middlewares.ips.ipWhiteList]
sourceRange = ["10.0.0.0/8"]
[http.middlewares.local.ipWhiteList]
sourceRange = ["127.0.0.1"]
"#;
    let up = Upstream::echo("up");
    let p = start(&up, &["local"], defs, &[]);
    assert_eq!(send(&p, "GET", "/", "").status, 200);
    let up = Upstream::echo("up");
    let p = start(&up, &["ips"], defs, &[]);
    let r = send(&p, "GET", "/", "");
    assert_eq!((r.status, r.text()), (403, "Forbidden".into()));
    assert!(up.requests().is_empty());
}
