//! What goes over the wire in each direction: HTTP/1.0 clients, hop-by-hop
//! header removal, passHostHeader, absolute-form targets, `Expect:
//! 100-continue`, and response framing (never Content-Length beside
//! Transfer-Encoding).

use std::time::{Duration, Instant};

use crate::common::client::request;
use crate::common::config::{app, lb_service_with, router};
use crate::common::*;

fn proxy_for(up: &Upstream) -> Proxy {
    Proxy::start(&ProxyConfig::new(&app(&[up.url()])))
}

#[test]
fn http10_without_keep_alive_gets_response_then_close() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    c.send(b"GET /old HTTP/1.0\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(10));
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert!(
        !r.chunked,
        "HTTP/1.0 client got a chunked response: {:?}",
        r.headers
    );
    assert!(r.text().contains("request: GET /old"), "{}", r.text());
    c.closed_within(Duration::from_secs(5))
        .expect("HTTP/1.0 connection without keep-alive is closed");
}

#[test]
fn http10_keep_alive_with_content_length_stays_open() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    for i in 0..2 {
        c.send(
            format!("GET /ka{i} HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
                .as_bytes(),
        );
        c.deadline(Duration::from_secs(10));
        let r = c.read_response();
        assert_eq!(r.status, 200, "request {i}");
        assert!(r.header("content-length").is_some(), "{:?}", r.headers);
        assert!(r.text().contains(&format!("GET /ka{i} ")));
    }
    assert_eq!(up.requests().len(), 2);
}

#[test]
fn http10_client_gets_dechunked_response() {
    let up = Upstream::start("up", Behavior::chunks(&[b"alpha-", b"beta-", b"gamma"]));
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    c.send(b"GET / HTTP/1.0\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(10));
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert!(r.header("transfer-encoding").is_none(), "{:?}", r.headers);
    assert_eq!(r.body, b"alpha-beta-gamma");
    c.closed_within(Duration::from_secs(5))
        .expect("closed after a de-chunked response");
}

#[test]
fn hop_by_hop_request_headers_stripped() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let r = request(
        p.addr(),
        "GET / HTTP/1.1\r\nHost: app.test\r\n\
         Connection: keep-alive, X-Custom-Hop\r\n\
         X-Custom-Hop: secret\r\n\
         Keep-Alive: timeout=5\r\n\
         Proxy-Connection: keep-alive\r\n\
         TE: gzip\r\n\
         Trailer: X-Foo\r\n\
         Proxy-Authorization: Basic Zm9vOmJhcg==\r\n\
         X-End-To-End: kept\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    for h in [
        "x-custom-hop",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "proxy-authorization",
    ] {
        assert!(
            !seen.has_header(h),
            "{h} reached the upstream: {:?}",
            seen.headers
        );
    }
    for v in seen.headers_named("connection") {
        assert!(
            !v.to_ascii_lowercase().contains("x-custom-hop"),
            "client's Connection header forwarded: {v}"
        );
    }
    assert_eq!(seen.header("x-end-to-end"), Some("kept"));
}

#[test]
fn upgrade_header_without_connection_upgrade_stripped() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let r = request(
        p.addr(),
        "GET / HTTP/1.1\r\nHost: app.test\r\nUpgrade: foo/1\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert!(!up.only_request().has_header("upgrade"));
}

#[test]
fn hop_by_hop_response_headers_stripped() {
    let b = Behavior::fixed(200, b"ok")
        .header("Connection", "X-Resp-Hop")
        .header("X-Resp-Hop", "internal")
        .header("Keep-Alive", "timeout=99")
        .header("X-Resp-Kept", "yes");
    let up = Upstream::start("up", b);
    let p = proxy_for(&up);
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.header("x-resp-hop").is_none(), "{:?}", r.headers);
    assert!(r.header("keep-alive").is_none(), "{:?}", r.headers);
    assert_eq!(r.header("x-resp-kept"), Some("yes"));
    assert_eq!(r.body, b"ok");
}

#[test]
fn pass_host_header_default_keeps_client_host() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    assert_eq!(
        request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").status,
        200
    );
    assert_eq!(up.only_request().header("host"), Some("app.test"));
}

#[test]
fn pass_host_header_false_uses_server_host() {
    let up = Upstream::echo("up");
    let dynamic = format!(
        "{}{}",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with("app", &[up.url()], "passHostHeader = false\n")
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    assert_eq!(
        request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").status,
        200
    );
    let seen = up.only_request();
    let want = up.addr().to_string();
    assert_eq!(seen.headers_named("host"), vec![want.as_str()]);
}

#[test]
fn expect_100_continue_answered_by_proxy_then_body_forwarded() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    c.send(
        b"POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    c.deadline(Duration::from_secs(5));
    let interim = c.read_response();
    assert_eq!(
        interim.status, 100,
        "expected 100 Continue before sending the body"
    );
    c.send(b"hello");
    c.deadline(Duration::from_secs(10));
    let r = c.read_response();
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(seen.body, b"hello");
    assert!(
        !seen.has_header("expect"),
        "Expect forwarded: {:?}",
        seen.headers
    );
}

#[test]
fn expect_100_continue_without_route_is_404_without_waiting_for_body() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    let t0 = Instant::now();
    c.send(
        b"POST /up HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
    );
    c.deadline(Duration::from_secs(5));
    let r = c.read_response();
    assert_eq!(r.status, 404);
    assert!(t0.elapsed() < Duration::from_secs(4));
    assert_eq!(up.heads(), 0);
}

#[test]
fn request_body_with_content_length_forwarded_exactly() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let body: Vec<u8> = (0..70_000u32).map(|i| (i % 256) as u8).collect();
    let mut c = Client::connect(p.addr());
    c.send(
        format!(
            "PUT /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    c.send(&body);
    let r = c.read_final("PUT");
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(seen.header("content-length"), Some("70000"));
    assert!(!seen.chunked);
    assert_eq!(seen.body, body);
}

/// Two routers by host, `a.test` → `a` and `b.test` → `b`.
fn two_hosts(a: &Upstream, b: &Upstream, extra: &str) -> Proxy {
    let dynamic = format!(
        "{}{}{}{}",
        router("a", "Host(`a.test`)", "a"),
        router("b", "Host(`b.test`)", "b"),
        lb_service_with("a", &[a.url()], extra),
        lb_service_with("b", &[b.url()], extra),
    );
    Proxy::start(&ProxyConfig::new(&dynamic))
}

/// RFC 9112 §3.2.2: an absolute-form target's authority replaces Host, for
/// routing and for what the upstream sees.
#[test]
fn absolute_form_target_routes_and_forwards_its_authority_as_host() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let p = two_hosts(&a, &b, "");
    let r = request(
        p.addr(),
        "GET http://a.test/x?q=1 HTTP/1.1\r\nHost: b.test\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream().as_deref(), Some("a"), "{}", r.text());
    let seen = a.only_request();
    assert_eq!(seen.request_line(), "GET /x?q=1 HTTP/1.1");
    assert_eq!(seen.headers_named("host"), ["a.test"]);
    assert_eq!(seen.header("x-forwarded-host"), Some("a.test"));
    assert!(b.requests().is_empty());
}

#[test]
fn absolute_form_target_with_pass_host_header_false_sends_server_authority() {
    let (a, b) = (Upstream::echo("a"), Upstream::echo("b"));
    let p = two_hosts(&a, &b, "passHostHeader = false\n");
    let r = request(
        p.addr(),
        "GET http://a.test/x HTTP/1.1\r\nHost: b.test\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let want = a.addr().to_string();
    assert_eq!(a.only_request().headers_named("host"), [want.as_str()]);
}

#[test]
fn absolute_form_target_with_empty_or_bad_authority_is_400() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    for target in ["http:///x", "http://app.test:99999/x", "http://:80/x"] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n\r\n");
        assert_eq!(request(p.addr(), &raw).status, 400, "{target}");
    }
    assert!(up.requests().is_empty());
}

/// An upstream answer with Content-Length and Transfer-Encoding: the client
/// gets the body framed by Transfer-Encoding and no Content-Length (RFC 9112
/// §6.2), whether the final coding is chunked or the body runs to the close.
#[test]
fn response_with_content_length_and_transfer_encoding_drops_content_length() {
    let cases: [(&[u8], &[u8]); 2] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            b"hello world",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\nhello world",
            b"hello world",
        ),
    ];
    for (raw, body) in cases {
        let up = Upstream::start("up", Behavior::raw(raw));
        let p = proxy_for(&up);
        let mut c = Client::connect(p.addr());
        c.send(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
        c.deadline(Duration::from_secs(10));
        let r = c.read_response();
        let what = String::from_utf8_lossy(raw);
        assert_eq!(r.status, 200, "{what}");
        assert!(
            r.header("content-length").is_none(),
            "{what}: client got {:?}",
            r.headers
        );
        assert!(
            r.header("transfer-encoding").is_some(),
            "{what}: {:?}",
            r.headers
        );
        assert_eq!(r.body, body, "{what}");
    }
}

/// Traefik v3: the request's own path goes upstream; a server URL's path is
/// joined in front of it only with `preservePath = true`.
#[test]
fn server_url_path_is_prepended_only_with_preserve_path() {
    let up = Upstream::echo("up");
    let dynamic = format!(
        "{}[http.services.s.loadBalancer]\n[[http.services.s.loadBalancer.servers]]\nurl = \"{}/base/\"\n\
         {}[http.services.k.loadBalancer]\n[[http.services.k.loadBalancer.servers]]\nurl = \"{}/base/\"\npreservePath = true\n",
        config::router("s", "Host(`s.test`)", "s"),
        up.url(),
        config::router("k", "Host(`k.test`)", "k"),
        up.url(),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    for host in ["s.test", "k.test"] {
        let r = request(
            p.addr(),
            &format!("GET /x?q=1 HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        );
        assert_eq!(r.status, 200, "{host}");
    }
    let seen: Vec<String> = up.requests().into_iter().map(|s| s.target).collect();
    assert_eq!(seen, ["/x?q=1", "/base/x?q=1"]);
    assert!(p.wait_log("is not sent upstream without preservePath", LOG_WAIT));
}
