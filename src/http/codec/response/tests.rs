use crate::http::codec::{BodyKind, HeadParser, ParseError, ResponseHead, Version};

fn parse_for(buf: &[u8], head_request: bool) -> Result<Option<ResponseHead>, ParseError> {
    HeadParser::new().parse_response(buf, 8192, head_request, &mut Vec::new())
}

fn ok(buf: &[u8]) -> ResponseHead {
    parse_for(buf, false).expect("valid").expect("complete")
}

fn body(buf: &[u8]) -> BodyKind {
    ok(buf).body
}

#[test]
fn status_reason_version() {
    let buf = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let h = ok(buf);
    assert_eq!(
        (h.status, h.version, h.head_len),
        (404, Version::Http11, buf.len())
    );
    assert_eq!(h.reason.get(buf), b"Not Found");
    assert_eq!(h.body, BodyKind::Length(0));
    assert!(!h.close && !h.drop_content_length);
    let buf = b"HTTP/1.1 200\r\n\r\n";
    assert!(ok(buf).reason.is_empty());
    let buf = b"HTTP/1.1 200 \xe9t\xe9\r\n\r\n";
    assert_eq!(ok(buf).reason.get(buf), b"\xe9t\xe9");
}

#[test]
fn no_body_cases() {
    let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    assert_eq!(parse_for(cl, true).unwrap().unwrap().body, BodyKind::None);
    assert_eq!(body(b"HTTP/1.1 204 No Content\r\n\r\n"), BodyKind::None);
    assert_eq!(
        body(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
        BodyKind::None
    );
    assert_eq!(body(b"HTTP/1.1 100 Continue\r\n\r\n"), BodyKind::None);
    assert_eq!(body(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"), BodyKind::None);
}

#[test]
fn framing() {
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"),
        BodyKind::Length(12)
    );
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
        BodyKind::Chunked
    );
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        BodyKind::Chunked
    );
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        BodyKind::UntilClose
    );
    assert_eq!(body(b"HTTP/1.1 200 OK\r\n\r\n"), BodyKind::UntilClose);
    assert_eq!(body(b"HTTP/1.0 200 OK\r\n\r\n"), BodyKind::UntilClose);
    // A recipient may ignore empty list elements (RFC 9110 §5.6.1); only
    // requests are held to the strict list.
    assert_eq!(
        body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked,\r\n\r\n"),
        BodyKind::Chunked
    );
}

#[test]
fn transfer_encoding_beats_content_length() {
    let h = ok(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(h.body, BodyKind::Chunked);
    assert!(h.drop_content_length);
    let h = ok(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!(h.body, BodyKind::UntilClose);
    assert!(h.drop_content_length);
}

#[test]
fn close_semantics() {
    assert!(ok(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").close);
    assert!(ok(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").close);
    assert!(!ok(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").close);
}

#[test]
fn bad_responses_refused() {
    let invalid = |buf: &[u8], why: &'static str| {
        assert_eq!(parse_for(buf, false).unwrap_err(), ParseError::Invalid(why))
    };
    invalid(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "conflicting Content-Length values",
    );
    invalid(
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "non-numeric Content-Length",
    );
    invalid(
        b"HTTP/1.1 304 OK\r\nContent-Length: x\r\n\r\n",
        "non-numeric Content-Length",
    );
    invalid(
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "Transfer-Encoding in HTTP/1.0 response",
    );
    invalid(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "chunked applied more than once",
    );
    invalid(b"HTTP/1.1 099 Low\r\n\r\n", "status code out of range");
    invalid(b"HTTP/1.1 600 High\r\n\r\n", "status code out of range");
    invalid(b"HTTP/1.1 20 OK\r\n\r\n", "invalid status line");
    invalid(
        b"HTTP/1.1 200 OK\r\nFoo: a\r\n b\r\n\r\n",
        "obsolete line folding",
    );
    invalid(b"HTTP/1.1 200 OK\nFoo: a\r\n\r\n", "bare LF in head");
    invalid(
        b"HTTP/1.1 200 OK\r\nFoo : a\r\n\r\n",
        "whitespace before header colon",
    );
}

#[test]
fn size_limit_and_splits() {
    let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    let head_len = buf.len() - 3;
    let mut p = HeadParser::new();
    let mut hs = Vec::new();
    assert!(
        p.parse_response(buf, head_len, false, &mut hs)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        p.parse_response(buf, head_len - 1, false, &mut hs)
            .unwrap_err(),
        ParseError::TooLarge
    );
    for split in 0..head_len {
        assert!(
            p.parse_response(&buf[..split], 8192, false, &mut hs)
                .unwrap()
                .is_none()
        );
        let h = p
            .parse_response(buf, 8192, false, &mut hs)
            .unwrap()
            .unwrap();
        assert_eq!((h.head_len, h.body), (head_len, BodyKind::Length(3)));
    }
}
