use crate::http::codec::{
    BodyKind, HeadParser, HeaderKind, HeaderSpan, ParseError, RequestHead, Version,
};
use proptest::prelude::*;

mod framing;

fn parse(buf: &[u8]) -> Result<Option<RequestHead>, ParseError> {
    HeadParser::new().parse_request(buf, 8192, &mut Vec::new())
}

fn ok(buf: &[u8]) -> RequestHead {
    parse(buf).expect("valid").expect("complete")
}

fn invalid(buf: &[u8], why: &'static str) {
    assert_eq!(
        parse(buf).unwrap_err(),
        ParseError::Invalid(why),
        "{}",
        buf.escape_ascii()
    );
}

#[test]
fn origin_form() {
    let buf = b"GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    let mut headers = Vec::new();
    let h = HeadParser::new()
        .parse_request(buf, 8192, &mut headers)
        .unwrap()
        .unwrap();
    assert_eq!(h.head_len, buf.len());
    assert_eq!(h.method.get(buf), b"GET");
    assert_eq!(h.target.get(buf), b"/a/b?x=1&y");
    assert_eq!(h.path.get(buf), b"/a/b");
    assert_eq!(h.query.get(buf), b"x=1&y");
    assert_eq!(h.host.get(buf), b"example.com");
    assert_eq!(h.version, Version::Http11);
    assert_eq!(h.body, BodyKind::None);
    assert!(!h.close && !h.upgrade && !h.expect_continue && !h.is_head && !h.is_connect);
    assert_eq!(headers.len(), 2);
    assert_eq!(headers[0].kind, HeaderKind::Host);
    assert_eq!(headers[1].name.get(buf), b"Accept");
    assert_eq!(headers[1].value.get(buf), b"*/*");
    assert_eq!(headers[1].kind, HeaderKind::Other);
}

#[test]
fn absolute_form_authority_wins() {
    let buf = b"GET http://up.example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n";
    let h = ok(buf);
    assert_eq!(h.host.get(buf), b"up.example:8080");
    assert_eq!(h.path.get(buf), b"/p");
    assert_eq!(h.query.get(buf), b"q");
    let buf = b"GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n";
    let h = ok(buf);
    assert_eq!(h.host.get(buf), b"h");
    assert!(h.path.is_empty() && h.query.is_empty());
    let buf = b"GET http://h?a HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(ok(buf).query.get(buf), b"a");
}

#[test]
fn connect_and_asterisk_forms() {
    let buf = b"CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n";
    let h = ok(buf);
    assert!(h.is_connect);
    assert_eq!(h.host.get(buf), b"db.example:5432");
    assert!(h.path.is_empty());
    assert_eq!(h.body, BodyKind::None);
    let buf = b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(ok(buf).host.get(buf), b"[::1]:443");
    let buf = b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(ok(buf).path.get(buf), b"*");
}

#[test]
fn http10_keep_alive_and_close() {
    let h = ok(b"GET / HTTP/1.0\r\n\r\n");
    assert!(h.close && h.host.is_empty());
    assert_eq!(h.version, Version::Http10);
    assert!(!ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").close);
    assert!(ok(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").close);
    assert!(ok(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: Close\r\n\r\n").close);
}

#[test]
fn upgrade_expect_head() {
    let h = ok(b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert!(h.upgrade && !h.close);
    assert!(!ok(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n").upgrade);
    assert!(!ok(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n").upgrade);
    let h = ok(b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
    assert!(h.expect_continue);
    assert_eq!(h.body, BodyKind::Length(3));
    assert!(ok(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").is_head);
}

#[test]
fn bodies() {
    let h = ok(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_eq!(h.body, BodyKind::Chunked);
    let h = ok(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\n\r\n");
    assert_eq!(h.body, BodyKind::Length(5));
}

#[test]
fn pipelined_bytes_untouched_and_leading_crlf_skipped() {
    let buf = b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\n";
    let h = ok(buf);
    assert_eq!(&buf[h.head_len..], b"GET /next HTTP/1.1\r\n");
    assert_eq!(h.method.get(buf), b"GET");
}

#[test]
fn smuggling_shapes_refused() {
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "both Content-Length and Transfer-Encoding",
    );
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "conflicting Content-Length values",
    );
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n",
        "conflicting Content-Length values",
    );
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        "non-numeric Content-Length",
    );
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "Content-Length overflows",
    );
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "chunked is not the final transfer-coding",
    );
    invalid(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked applied more than once");
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
        "chunked is not the final transfer-coding",
    );
    invalid(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n",
        "empty Transfer-Encoding",
    );
    invalid(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "Transfer-Encoding in HTTP/1.0 request",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: h\r\nFoo: a\r\n  b\r\n\r\n",
        "obsolete line folding",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n",
        "whitespace before header colon",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: h\r\nFoo: a\0b\r\n\r\n",
        "invalid byte in header value",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: h\r\nFoo: a\rb\r\n\r\n",
        "invalid byte in header value",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: h\nFoo: b\r\n\r\n",
        "bare LF in head",
    );
    invalid(b"GET / HTTP/1.1\r\n\r\n", "missing Host header");
    invalid(
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "multiple Host headers",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "invalid Host header",
    );
    invalid(
        b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
        "invalid Host header",
    );
    invalid(
        b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "invalid method or request target",
    );
    invalid(
        b"GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
        "invalid method or request target",
    );
    invalid(
        b"GET /a#f HTTP/1.1\r\nHost: h\r\n\r\n",
        "fragment in request target",
    );
    invalid(
        b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        "invalid method or request target",
    );
    invalid(
        b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
        "unsupported HTTP version",
    );
}

#[test]
fn target_forms_refused() {
    invalid(
        b"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
        "asterisk-form target outside OPTIONS",
    );
    invalid(
        b"GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n",
        "invalid request target",
    );
    invalid(
        b"GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "invalid request target",
    );
    invalid(
        b"GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n",
        "empty authority in request target",
    );
    invalid(
        b"GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "userinfo in request target",
    );
    invalid(
        b"CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n",
        "invalid authority",
    );
    invalid(
        b"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n",
        "CONNECT target is not host:port",
    );
    invalid(
        b"CONNECT h:x HTTP/1.1\r\nHost: h\r\n\r\n",
        "CONNECT target is not host:port",
    );
    invalid(
        b"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n",
        "body on CONNECT request",
    );
}

#[test]
fn head_size_limit_boundary() {
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut p = HeadParser::new();
    let mut hs = Vec::new();
    assert!(p.parse_request(buf, buf.len(), &mut hs).unwrap().is_some());
    assert_eq!(
        p.parse_request(buf, buf.len() - 1, &mut hs).unwrap_err(),
        ParseError::TooLarge
    );
}

#[test]
fn too_many_headers_is_too_large() {
    let mut buf = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..128 {
        buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    buf.extend_from_slice(b"\r\n");
    assert_eq!(parse(&buf).unwrap_err(), ParseError::TooLarge);
}

#[test]
fn every_split_gives_same_result() {
    let buf = b"\r\nPOST http://h:1/p?q HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 7\r\n\r\nbody!!!";
    let whole = ok(buf);
    let mut hs = Vec::new();
    for split in 0..buf.len() {
        let mut p = HeadParser::new();
        let first = p.parse_request(&buf[..split], 8192, &mut hs).unwrap();
        let h = match first {
            Some(h) => h,
            None => p.parse_request(buf, 8192, &mut hs).unwrap().unwrap(),
        };
        assert_eq!(format!("{h:?}"), format!("{whole:?}"), "split at {split}");
    }
}

#[test]
fn headers_vec_reused_without_growth() {
    let buf = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    let mut hs: Vec<HeaderSpan> = Vec::with_capacity(8);
    let ptr = hs.as_ptr();
    for _ in 0..3 {
        HeadParser::new()
            .parse_request(buf, 8192, &mut hs)
            .unwrap()
            .unwrap();
        assert_eq!(hs.len(), 3);
    }
    assert_eq!(hs.as_ptr(), ptr);
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

proptest! {
    #[test]
    fn random_valid_requests_round_trip(
        method in "[A-Z]{1,8}",
        path in "/[A-Za-z0-9/._~%!$&'()*+,;=:@-]{0,40}",
        query in proptest::option::of("[A-Za-z0-9/?._~%=&-]{0,30}"),
        host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
        extra in proptest::collection::vec((token(), "[ -~]{0,30}"), 0..8),
    ) {
        prop_assume!(method != "CONNECT");
        let target = match &query { Some(q) => format!("{path}?{q}"), None => path.clone() };
        let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
        let extra: Vec<_> = extra.into_iter()
            .filter(|(n, _)| super::super::classify(n.as_bytes()) == HeaderKind::Other)
            .map(|(n, v)| (n, v.trim_matches([' ', '\t']).to_string()))
            .collect();
        for (n, v) in &extra {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str("\r\n");
        let buf = text.as_bytes();
        let mut hs = Vec::new();
        let h = HeadParser::new().parse_request(buf, 8192, &mut hs).unwrap().unwrap();
        prop_assert_eq!(h.method.get(buf), method.as_bytes());
        prop_assert_eq!(h.target.get(buf), target.as_bytes());
        prop_assert_eq!(h.path.get(buf), path.as_bytes());
        prop_assert_eq!(h.query.get(buf), query.as_deref().unwrap_or("").as_bytes());
        prop_assert_eq!(h.host.get(buf), host.as_bytes());
        prop_assert_eq!(hs.len(), extra.len() + 1);
        for (span, (n, v)) in hs[1..].iter().zip(&extra) {
            prop_assert_eq!(span.name.get(buf), n.as_bytes());
            prop_assert_eq!(span.value.get(buf), v.as_bytes());
        }
    }

    #[test]
    fn random_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..600) {
        let mut hs = Vec::new();
        let mut p = HeadParser::new();
        let _ = p.parse_request(&buf, max, &mut hs);
        let _ = p.parse_response(&buf, max, false, &mut hs);
    }

    #[test]
    fn request_like_bytes_never_panic(tail in proptest::collection::vec(
        prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b','), any::<u8>()], 0..200)) {
        let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
        buf.extend_from_slice(&tail);
        let mut hs = Vec::new();
        let _ = HeadParser::new().parse_request(&buf, 4096, &mut hs);
    }

    #[test]
    fn split_reads_reach_the_same_verdict(
        tail in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b'H'), any::<u8>()], 0..120),
        cut in 0usize..160,
        max in 8usize..200,
    ) {
        let mut buf = b"\r\nGET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        buf.extend_from_slice(&tail);
        let mut hs = Vec::new();
        let whole = HeadParser::new().parse_request(&buf, max, &mut hs);
        let mut p = HeadParser::new();
        let split = match p.parse_request(&buf[..cut.min(buf.len())], max, &mut hs) {
            Ok(None) => p.parse_request(&buf, max, &mut hs),
            other => other,
        };
        prop_assert_eq!(format!("{whole:?}"), format!("{split:?}"));
    }
}
