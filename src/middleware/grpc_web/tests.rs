//! The request phase on the wrapper's and rs/cors's cases, and the codec.

use super::codec::{Base64Decoder, encode_piece, rewrite_head, trailer_frame};
use super::*;
use crate::router::HeaderLookup;

struct Hdrs(Vec<(&'static str, &'static str)>);
impl HeaderLookup for Hdrs {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| f(v.as_bytes()))
    }
}

fn run(
    origins: &[&str],
    method: &str,
    headers: Vec<(&'static str, &'static str)>,
) -> (Flow, Edits) {
    let m = GrpcWeb {
        origins: origins
            .iter()
            .filter(|o| **o != "*")
            .map(|o| o.to_string())
            .collect(),
        any_origin: origins.contains(&"*"),
    };
    let headers = Hdrs(headers);
    let req = RequestInfo {
        method: method.as_bytes(),
        host: b"app.test",
        path: b"/test.T/Unary",
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &headers,
        tls: false,
        forwarded_trusted: true,
        client_certs: None,
    };
    let mut e = Edits::default();
    let flow = m.apply(&req, &mut e);
    (flow, e)
}

fn response(e: &Edits) -> Vec<(HeaderOp, String, String)> {
    e.response_edits()
        .map(|(op, n, v)| {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (op, s(n), s(v))
        })
        .collect()
}

fn request_value(e: &Edits, name: &str) -> Option<String> {
    e.request_edits()
        .find(|(_, n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, _, v)| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn a_grpc_web_post_is_converted_with_cors_for_an_allowed_origin() {
    let (flow, e) = run(
        &["https://a.test"],
        "POST",
        vec![
            ("Content-Type", "application/grpc-web+proto"),
            ("Origin", "https://a.test"),
        ],
    );
    assert_eq!(flow, Flow::Next);
    assert_eq!(e.grpc_web(), Some(Mode::Binary));
    assert_eq!(
        request_value(&e, "content-type").unwrap(),
        "application/grpc+proto"
    );
    assert_eq!(request_value(&e, "te").unwrap(), "trailers");
    let names: Vec<String> = response(&e).into_iter().map(|(_, n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Vary",
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials"
        ]
    );
}

#[test]
fn text_mode_and_a_refused_origin_get_no_allow_headers() {
    let (_, e) = run(
        &["https://a.test"],
        "POST",
        vec![
            ("Content-Type", "application/grpc-web-text"),
            ("Origin", "https://evil.test"),
        ],
    );
    assert_eq!(e.grpc_web(), Some(Mode::Text));
    assert_eq!(
        request_value(&e, "content-type").unwrap(),
        "application/grpc"
    );
    assert_eq!(
        response(&e),
        [(HeaderOp::Add, "Vary".into(), "Origin".into())]
    );
}

#[test]
fn other_requests_pass_untouched() {
    for (method, headers) in [
        ("POST", vec![("Content-Type", "application/grpc")]),
        ("GET", vec![("Content-Type", "application/grpc-web")]),
        (
            "OPTIONS",
            vec![("Access-Control-Request-Headers", "content-type")],
        ),
        // Go's `Header.Get`: only the first Content-Type counts.
        (
            "POST",
            vec![
                ("Content-Type", "text/plain"),
                ("Content-Type", "application/grpc-web"),
            ],
        ),
    ] {
        let (flow, e) = run(&["*"], method, headers);
        assert_eq!(flow, Flow::Next);
        assert!(e.grpc_web().is_none() && e.is_empty(), "{method}");
    }
}

#[test]
fn a_preflight_for_an_allowed_origin_is_answered_with_the_allow_headers() {
    let (flow, e) = run(
        &["*"],
        "OPTIONS",
        vec![
            ("Origin", "https://b.test"),
            ("Access-Control-Request-Method", "post"),
            (
                "Access-Control-Request-Headers",
                "x-grpc-web,content-type x-user-agent",
            ),
        ],
    );
    assert_eq!(flow, Flow::Answer);
    assert_eq!(e.answered(), Some((200, &b""[..])));
    let got = response(&e);
    let value = |name: &str| {
        got.iter()
            .filter(|(_, n, _)| n == name)
            .map(|(_, _, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        value("Vary"),
        [
            "Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers"
        ]
    );
    assert_eq!(value("Access-Control-Allow-Origin"), ["https://b.test"]);
    assert_eq!(value("Access-Control-Allow-Methods"), ["POST"]);
    assert_eq!(
        value("Access-Control-Allow-Headers"),
        ["X-Grpc-Web, Content-Type, X-User-Agent"]
    );
    assert_eq!(value("Access-Control-Allow-Credentials"), ["true"]);
    assert_eq!(value("Access-Control-Max-Age"), ["600"]);
}

#[test]
fn a_preflight_for_a_refused_origin_or_method_gets_only_vary() {
    for (origins, method) in [(&["https://a.test"][..], "POST"), (&["*"][..], "DELETE")] {
        let (flow, e) = run(
            origins,
            "OPTIONS",
            vec![
                ("Origin", "https://b.test"),
                ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", "X-Grpc-Web"),
            ],
        );
        assert_eq!(flow, Flow::Answer);
        let names: Vec<String> = response(&e)
            .into_iter()
            .filter(|(op, _, _)| *op != HeaderOp::Remove)
            .map(|(_, n, _)| n)
            .collect();
        assert_eq!(names, ["Vary", "Vary", "Vary"], "{method}");
    }
}

#[test]
fn base64_decodes_across_pieces_and_padded_parts() {
    let mut d = Base64Decoder::default();
    let mut out = Vec::new();
    // "hello" then "!!" as two padded parts, split mid-quantum, with a line break.
    d.feed(b"aGVsb", &mut out).unwrap();
    d.feed(b"G8=\r\nISE=", &mut out).unwrap();
    assert_eq!(out, b"hello!!");
    assert!(d.finish().is_ok());
    d.feed(b"aG", &mut out).unwrap();
    assert!(d.finish().is_err());
    assert!(Base64Decoder::default().feed(b"a*==", &mut out).is_err());
}

#[test]
fn text_pieces_are_padded_on_their_own() {
    let mut out = Vec::new();
    encode_piece(Mode::Text, b"hello", &mut out);
    encode_piece(Mode::Text, b"!", &mut out);
    assert_eq!(out, b"aGVsbG8=IQ==");
}

#[test]
fn the_trailer_frame_sorts_and_lowercases_its_fields() {
    let mut out = Vec::new();
    let fields = [
        (&b"grpc-status"[..], &b"7"[..]),
        (b"Grpc-Message", b"not for you"),
        (b"x-b", b"1"),
        (b"x-b", b"2"),
    ];
    trailer_frame(fields.into_iter(), &mut out);
    let body = b"grpc-message: not for you\r\ngrpc-status: 7\r\nx-b: 1\r\nx-b: 2\r\n";
    assert_eq!(out[0], 0x80);
    assert_eq!(&out[1..5], (body.len() as u32).to_be_bytes());
    assert_eq!(&out[5..], body);
    out.clear();
    trailer_frame(std::iter::empty(), &mut out);
    assert!(out.is_empty());
}

#[test]
fn the_response_head_is_renamed_unframed_and_exposed() {
    let src = b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc+proto\r\n\
                Transfer-Encoding: chunked\r\ntrailer: grpc-status\r\nx-id: 1\r\n\
                Vary: Origin\r\nContent-Length: 9\r\n\r\n";
    let mut out = Vec::new();
    rewrite_head(src, Mode::Text, true, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web-text+proto\r\nx-id: 1\r\n\
         Vary: Origin\r\nAccess-Control-Expose-Headers: Content-Type, X-Id, Vary, \
         grpc-status, grpc-message\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    assert!(rewrite_head(b"HTTP/1.1 200 OK\r\n", Mode::Binary, false, &mut Vec::new()).is_none());
}
