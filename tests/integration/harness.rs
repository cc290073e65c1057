//! Self-tests of the harness (client ↔ upstream directly, no proxy), so a
//! failure elsewhere points at proxyd, not at the test tooling.

use std::time::Duration;

use crate::common::config::{app_with_transport, router};
use crate::common::proxy::parse_listening;
use crate::common::*;

#[test]
fn harness_echo_keep_alive_and_bodies() {
    let up = Upstream::echo("direct");
    let mut c = Client::connect(up.addr());
    let r = c.request("POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream().as_deref(), Some("direct"));
    assert!(
        r.text().contains("request: POST /a?b HTTP/1.1\n"),
        "{}",
        r.text()
    );
    let r = c.request(
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;e=1\r\nhi\r\n0\r\nT: 1\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let r = c.request("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(r.body.is_empty());
    assert_eq!(c.request("GET /d HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
    let seen = up.requests();
    assert_eq!(seen.len(), 4);
    assert_eq!(up.connections(), 1);
    assert_eq!(seen[0].body, b"abc");
    assert!(seen[1].chunked);
    assert_eq!(seen[1].body, b"hi");
    assert_eq!(seen[1].trailers, vec![("T".to_string(), "1".to_string())]);
    assert_eq!(seen[1].body_fnv, Fnv::of(b"hi"));
}

#[test]
fn harness_response_framings() {
    let up = Upstream::start("c", Behavior::chunks(&[b"ab", b"cd"]).interim(103));
    let mut c = Client::connect(up.addr());
    let r = c.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(r.chunked);
    assert_eq!(r.body, b"abcd");
    let up = Upstream::start("u", Behavior::fixed(200, b"xyz").until_close());
    let r = crate::common::client::get(up.addr(), "x", "/");
    assert_eq!(r.body, b"xyz");
    let up = Upstream::start("p", Behavior::pattern(1_000_000).chunked());
    let r = crate::common::client::get(up.addr(), "x", "/");
    assert_eq!(r.body.len(), 1_000_000);
    assert_eq!(Fnv::of(&r.body), Pattern::fnv(1_000_000));
}

#[test]
fn harness_closed_within_detects_close() {
    let up = Upstream::start("x", Behavior::close_without_response());
    let mut c = Client::connect(up.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.closed_within(Duration::from_secs(5)).unwrap();
    let up = Upstream::echo("y");
    let mut c = Client::connect(up.addr());
    assert!(c.closed_within(Duration::from_millis(200)).is_err());
}

#[test]
fn harness_generated_configs_parse() {
    let cfg = ProxyConfig::new(&app_with_transport("http://127.0.0.1:1", "1s", "2s"))
        .web(|ep| {
            ep.read_timeout = Some("1s".into());
            ep.trusted_ips = Some(vec!["10.0.0.0/8".into()]);
            ep.max_header_bytes = Some(8192);
        })
        .entry_point(EntryPoint::new("admin"));
    let st: toml::Value = toml::from_str(&cfg.static_toml(std::path::Path::new("/d"))).unwrap();
    assert_eq!(
        st["entryPoints"]["web"]["http"]["maxHeaderBytes"].as_integer(),
        Some(8192)
    );
    assert_eq!(
        st["entryPoints"]["web"]["transport"]["respondingTimeouts"]["readTimeout"].as_str(),
        Some("1s")
    );
    assert_eq!(
        st["entryPoints"]["admin"]["address"].as_str(),
        Some("127.0.0.1:0")
    );
    let dy: toml::Value = toml::from_str(&cfg.dynamic[0].1).unwrap();
    let lb = &dy["http"]["services"]["app"]["loadBalancer"];
    assert_eq!(lb["serversTransport"].as_str(), Some("t"));
    assert_eq!(lb["servers"][0]["url"].as_str(), Some("http://127.0.0.1:1"));
    let r: toml::Value = toml::from_str(&router("a", "Host(`a`) && Path(`/\\d`)", "s")).unwrap();
    assert_eq!(
        r["http"]["routers"]["a"]["rule"].as_str(),
        Some("Host(`a`) && Path(`/\\d`)")
    );
}

#[test]
fn harness_parse_listening_line() {
    let l = "[2026 INFO proxyd] listening entrypoint=web addr=127.0.0.1:4321 worker=1";
    let (ep, addr, w) = parse_listening(l).unwrap();
    assert_eq!((ep.as_str(), addr.port(), w), ("web", 4321, 1));
    assert!(parse_listening("ready workers=1 driver=uring").is_none());
}

#[test]
fn harness_reset_behaviour_resets() {
    let up = Upstream::start("r", Behavior::reset_without_response());
    let mut c = Client::connect(up.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.deadline(Duration::from_secs(5));
    let err = c.try_read_response("GET").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
}
