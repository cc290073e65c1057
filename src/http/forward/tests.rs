//! Request and response head rewriting, checked on parsed real heads.

use super::response::status_digits;
use super::*;
use crate::http::codec::HeadParser;
use crate::net::ip_text::IpText;
use std::net::IpAddr;

fn rewrite(req: &str, fw: &Forwarding<'_>) -> String {
    let mut headers = Vec::new();
    let head = HeadParser::new()
        .parse_request(req.as_bytes(), 1 << 16, &mut headers)
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    write_request_head(&mut out, req.as_bytes(), &head, &headers, fw);
    String::from_utf8(out).unwrap()
}

fn fw(trusted: bool) -> Forwarding<'static> {
    Forwarding {
        host_override: None,
        default_host: "up.internal:9000",
        path_prefix: "",
        client_ip: "10.1.2.3",
        trusted,
        proto: "http",
        port: "8080",
        hostname: "edge1",
        upgrade: false,
        // Leaked: tests want a `'static` Forwarding.
        edits: Box::leak(Box::default()),
    }
}

#[test]
fn hop_by_hop_and_connection_named_headers_are_removed() {
    let out = rewrite(
        "GET /a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: 5\r\nX-Secret: s\r\nTE: gzip\r\nProxy-Authorization: p\r\nX-Keep: k\r\n\r\n",
        &fw(false),
    );
    assert!(out.starts_with("GET /a HTTP/1.1\r\nHost: x\r\n"), "{out}");
    for gone in [
        "Connection",
        "Keep-Alive",
        "X-Secret",
        "TE:",
        "Proxy-Authorization",
    ] {
        assert!(!out.contains(gone), "{gone} survived: {out}");
    }
    assert!(out.contains("X-Keep: k\r\n"));
    assert!(out.ends_with("\r\n\r\n"));
}

#[test]
fn untrusted_forwarded_headers_are_replaced() {
    let out = rewrite(
        "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-Ip: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Prefix: /evil\r\n\r\n",
        &fw(false),
    );
    assert!(!out.contains("6.6.6.6") && !out.contains("/evil"), "{out}");
    assert!(out.contains("X-Forwarded-For: 10.1.2.3\r\n"));
    assert!(out.contains("X-Real-Ip: 10.1.2.3\r\n"));
    assert!(out.contains("X-Forwarded-Proto: http\r\n"));
    assert!(out.contains("X-Forwarded-Host: app.test\r\n"));
    assert!(out.contains("X-Forwarded-Port: 8080\r\n"));
    assert!(out.contains("X-Forwarded-Server: edge1\r\n"));
}

#[test]
fn trusted_forwarded_chain_is_extended() {
    let out = rewrite(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Server: spoof\r\n\r\n",
        &fw(true),
    );
    assert!(
        out.contains("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.1.2.3\r\n"),
        "{out}"
    );
    assert!(out.contains("X-Forwarded-Proto: https\r\n"));
    assert!(!out.contains("X-Forwarded-Proto: http\r\n"));
    assert!(!out.contains("spoof") && out.contains("X-Forwarded-Server: edge1\r\n"));
}

/// Guards the Host of an HTTP/1.0 request that had none: the upstream request
/// is HTTP/1.1, which must carry one, so the server's authority is sent.
#[test]
fn http10_request_without_host_gets_the_server_authority() {
    let out = rewrite("GET /a HTTP/1.0\r\nX-A: 1\r\n\r\n", &fw(false));
    assert!(
        out.starts_with("GET /a HTTP/1.1\r\nHost: up.internal:9000\r\nX-A: 1\r\n"),
        "{out}"
    );
}

#[test]
fn host_override_path_prefix_and_absolute_form() {
    let mut f = fw(false);
    f.host_override = Some("10.0.0.9:9000");
    f.path_prefix = "/base";
    let out = rewrite(
        "GET http://public.test/p?q=1 HTTP/1.1\r\nHost: public.test\r\n\r\n",
        &f,
    );
    assert!(
        out.starts_with("GET /base/p?q=1 HTTP/1.1\r\nHost: 10.0.0.9:9000\r\n"),
        "{out}"
    );
    assert!(out.contains("X-Forwarded-Host: public.test\r\n"));
}

#[test]
fn absolute_form_authority_replaces_host() {
    let out = rewrite(
        "GET http://a.test:81/x HTTP/1.1\r\nX-A: 1\r\nHost: b.test\r\n\r\n",
        &fw(false),
    );
    assert!(
        out.starts_with("GET /x HTTP/1.1\r\nHost: a.test:81\r\nX-A: 1\r\n"),
        "{out}"
    );
    assert!(!out.contains("b.test"), "{out}");
    // HTTP/1.0 may omit Host; the upstream request (HTTP/1.1) still gets one.
    let out = rewrite("GET http://a.test/ HTTP/1.0\r\n\r\n", &fw(false));
    assert!(
        out.starts_with("GET / HTTP/1.1\r\nHost: a.test\r\n"),
        "{out}"
    );
}

#[test]
fn framing_lines_are_regenerated_once() {
    let cases = [
        (
            "Content-Length: 5\r\nContent-Length: 5\r\n",
            "Content-Length: 5\r\n",
        ),
        ("Content-Length: 5, 5\r\n", "Content-Length: 5\r\n"),
        ("content-length:5,5\r\n", "Content-Length: 5\r\n"),
        (
            "Transfer-Encoding:  CHUNKED \r\n",
            "Transfer-Encoding: chunked\r\n",
        ),
    ];
    for (lines, want) in cases {
        let out = rewrite(
            &format!("POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n{lines}X-B: 2\r\n\r\n"),
            &fw(false),
        );
        let framing = out
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.starts_with("content-length") || l.starts_with("transfer-encoding")
            })
            .count();
        assert_eq!(framing, 1, "{lines:?} gave {out}");
        assert!(
            out.contains(&format!("X-A: 1\r\n{want}X-B: 2\r\n")),
            "{out}"
        );
    }
}

#[test]
fn upgrade_keeps_upgrade_headers() {
    let mut f = fw(false);
    f.upgrade = true;
    let out = rewrite(
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
        &f,
    );
    assert!(
        out.contains("Upgrade: websocket\r\n") && out.contains("Connection: Upgrade\r\n"),
        "{out}"
    );
    assert!(!out.contains("keep-alive"));
}

fn relay_head(resp: &str, framing: &ResponseFraming) -> String {
    let mut headers = Vec::new();
    let head = HeadParser::new()
        .parse_response(resp.as_bytes(), 1 << 16, false, &mut headers)
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    write_response_head(&mut out, resp.as_bytes(), &head, &headers, framing, None);
    String::from_utf8(out).unwrap()
}

#[test]
fn response_head_strips_hop_by_hop_and_sets_connection() {
    let framing = ResponseFraming {
        dechunk: false,
        close: true,
        keep_alive_10: false,
    };
    let out = relay_head(
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n",
        &framing,
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn dechunked_response_drops_transfer_encoding() {
    let framing = ResponseFraming {
        dechunk: true,
        close: true,
        keep_alive_10: false,
    };
    let out = relay_head(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
        &framing,
    );
    assert_eq!(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

#[test]
fn content_length_never_sent_beside_transfer_encoding() {
    let framing = ResponseFraming {
        dechunk: false,
        close: false,
        keep_alive_10: false,
    };
    let out = relay_head(
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n",
        &framing,
    );
    assert_eq!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    let framing = ResponseFraming {
        close: true,
        ..framing
    };
    let out = relay_head(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 9\r\n\r\n",
        &framing,
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n"
    );
}

/// Guards the response framing line: duplicate or listed identical lengths
/// reach the client as one line, and a length that frames no body (a HEAD
/// response) passes unchanged.
#[test]
fn response_content_length_list_regenerated_once() {
    let framing = ResponseFraming {
        dechunk: false,
        close: false,
        keep_alive_10: false,
    };
    let out = relay_head(
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nX-A: 1\r\nContent-Length: 5\r\n\r\n",
        &framing,
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n"
    );
    let mut headers = Vec::new();
    let raw = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
    let head = HeadParser::new()
        .parse_response(raw.as_bytes(), 1 << 16, true, &mut headers)
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    write_response_head(&mut out, raw.as_bytes(), &head, &headers, &framing, None);
    assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
}

#[test]
fn ip_text_formats_both_families() {
    assert_eq!(
        IpText::new("10.1.2.3".parse().unwrap()).as_str(),
        "10.1.2.3"
    );
    // The longest IPv6 text form must fit.
    let v6: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
    assert_eq!(IpText::new(v6).as_str().parse::<IpAddr>().unwrap(), v6);
    assert_eq!(status_digits(204), *b"204");
}

#[test]
fn te_trailers_goes_on_as_in_go() {
    let out = rewrite(
        "GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n",
        &fw(false),
    );
    assert!(out.contains("TE: trailers\r\n"), "{out}");
}
