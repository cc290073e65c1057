//! X-Forwarded-* / X-Real-Ip: set by the proxy, spoofed values dropped for
//! untrusted clients, kept (and appended to) for trusted ones.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::config::app;
use crate::common::upstream::Seen;
use crate::common::*;

const SPOOFED: &str = "GET /f HTTP/1.1\r\nHost: app.test\r\n\
    X-Forwarded-For: 1.2.3.4\r\n\
    X-Forwarded-Proto: https\r\n\
    X-Forwarded-Host: evil.test\r\n\
    X-Forwarded-Port: 443\r\n\
    X-Forwarded-Server: evil\r\n\
    X-Real-Ip: 1.2.3.4\r\n\r\n";

fn start(up: &Upstream, trusted: &[&str], insecure: bool) -> Proxy {
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| {
        ep.trusted_ips = Some(trusted.iter().map(|s| s.to_string()).collect());
        ep.insecure = Some(insecure);
    });
    Proxy::start(&cfg)
}

fn one(seen: &Seen, name: &str) -> String {
    let v = seen.headers_named(name);
    assert_eq!(
        v.len(),
        1,
        "{name} should appear exactly once: {:?}",
        seen.headers
    );
    v[0].to_string()
}

#[test]
fn forwarded_headers_set_for_plain_request() {
    let up = Upstream::echo("up");
    let p = start(&up, &["10.0.0.0/8"], false);
    let r = crate::common::client::get(p.addr(), "app.test", "/f");
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(one(&seen, "x-forwarded-for"), "127.0.0.1");
    assert_eq!(one(&seen, "x-forwarded-proto"), "http");
    assert_eq!(one(&seen, "x-forwarded-host"), "app.test");
    assert_eq!(one(&seen, "x-real-ip"), "127.0.0.1");
    assert!(!one(&seen, "x-forwarded-port").is_empty());
    assert!(!one(&seen, "x-forwarded-server").is_empty());
}

#[test]
fn forwarded_untrusted_client_spoofed_values_replaced() {
    let up = Upstream::echo("up");
    let p = start(&up, &["10.0.0.0/8"], false);
    let r = crate::common::client::request(p.addr(), SPOOFED);
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(
        one(&seen, "x-forwarded-for"),
        "127.0.0.1",
        "XFF must be exactly the client IP"
    );
    assert_eq!(one(&seen, "x-real-ip"), "127.0.0.1");
    assert_eq!(one(&seen, "x-forwarded-proto"), "http");
    assert_eq!(one(&seen, "x-forwarded-host"), "app.test");
    assert_ne!(one(&seen, "x-forwarded-port"), "443");
    assert_ne!(one(&seen, "x-forwarded-server"), "evil");
}

#[test]
fn forwarded_trusted_client_xff_appended() {
    let up = Upstream::echo("up");
    let p = start(&up, &["127.0.0.1"], false);
    let r = crate::common::client::request(
        p.addr(),
        "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(one(&seen, "x-forwarded-for"), "1.2.3.4, 127.0.0.1");
    assert_eq!(one(&seen, "x-real-ip"), "127.0.0.1");
}

#[test]
fn forwarded_trusted_client_keeps_proto_and_host() {
    let up = Upstream::echo("up");
    let p = start(&up, &["127.0.0.0/8"], false);
    let r = crate::common::client::request(p.addr(), SPOOFED);
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(one(&seen, "x-forwarded-for"), "1.2.3.4, 127.0.0.1");
    assert_eq!(one(&seen, "x-forwarded-proto"), "https");
    assert_eq!(one(&seen, "x-forwarded-host"), "evil.test");
}

#[test]
fn forwarded_trust_is_per_source_ip() {
    // Only 127.0.0.2 is trusted: the same spoofed request from 127.0.0.1 is
    // rewritten, from 127.0.0.2 it is appended to.
    let up = Upstream::echo("up");
    let p = start(&up, &["127.0.0.2/32"], false);
    let raw = "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 9.9.9.9\r\n\r\n";
    let r = Client::connect(p.addr()).request(raw);
    assert_eq!(r.status, 200);
    let two = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let r = Client::connect_from(two, p.addr()).request(raw);
    assert_eq!(r.status, 200);
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(one(&seen[0], "x-forwarded-for"), "127.0.0.1");
    assert_eq!(one(&seen[1], "x-forwarded-for"), "9.9.9.9, 127.0.0.2");
    assert_eq!(one(&seen[1], "x-real-ip"), "127.0.0.2");
}

#[test]
fn forwarded_insecure_trusts_everyone() {
    let up = Upstream::echo("up");
    let p = start(&up, &[], true);
    let r = crate::common::client::request(
        p.addr(),
        "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        one(&up.only_request(), "x-forwarded-for"),
        "1.2.3.4, 127.0.0.1"
    );
}

#[test]
fn forwarded_multiple_incoming_xff_headers_untrusted_collapsed() {
    let up = Upstream::echo("up");
    let p = start(&up, &["10.0.0.0/8"], false);
    let r = crate::common::client::request(
        p.addr(),
        "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(one(&up.only_request(), "x-forwarded-for"), "127.0.0.1");
}
