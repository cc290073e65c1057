//! The request shapes whose meaning the proxy regenerates when forwarding: the
//! Transfer-Encoding list and an absolute-form target's authority.

use super::{invalid, ok, parse};
use crate::http::codec::{BodyKind, ParseError};

/// The request Transfer-Encoding list: only exactly `chunked` is a body.
#[test]
fn transfer_encoding_list_forms() {
    let te = |lines: &str| format!("POST / HTTP/1.1\r\nHost: h\r\n{lines}\r\n");
    for accepted in [
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding:  CHUNKED \r\n",
        "transfer-encoding:\tChunked\t\r\n",
    ] {
        assert_eq!(
            ok(te(accepted).as_bytes()).body,
            BodyKind::Chunked,
            "{accepted:?}"
        );
    }
    let refused = [
        (
            "Transfer-Encoding: ,chunked\r\n",
            "empty element in Transfer-Encoding",
        ),
        (
            "Transfer-Encoding: chunked,\r\n",
            "empty element in Transfer-Encoding",
        ),
        (
            "Transfer-Encoding: chunked,,\r\n",
            "empty element in Transfer-Encoding",
        ),
        (
            "Transfer-Encoding: , chunked\r\n",
            "empty element in Transfer-Encoding",
        ),
        (
            "Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n",
            "empty Transfer-Encoding",
        ),
        (
            "Transfer-Encoding: chunked;q=1\r\n",
            "invalid transfer-coding",
        ),
        (
            "Transfer-Encoding: \"chunked\"\r\n",
            "invalid transfer-coding",
        ),
        (
            "Transfer-Encoding: chunked, chunked\r\n",
            "chunked applied more than once",
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "chunked applied more than once",
        ),
        (
            "Transfer-Encoding: chunked, gzip\r\n",
            "chunked is not the final transfer-coding",
        ),
        (
            "Transfer-Encoding: gzip\r\n",
            "chunked is not the final transfer-coding",
        ),
        (
            "Transfer-Encoding: identity\r\n",
            "chunked is not the final transfer-coding",
        ),
    ];
    for (lines, why) in refused {
        invalid(te(lines).as_bytes(), why);
    }
    // A control byte inside the value never gets as far as the coding list.
    assert!(matches!(
        parse(te("Transfer-Encoding: chunked\x0b\r\n").as_bytes()),
        Err(ParseError::Invalid(_))
    ));
    for unsupported in [
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: x-custom ,chunked\r\n",
    ] {
        assert_eq!(
            parse(te(unsupported).as_bytes()).unwrap_err(),
            ParseError::Unsupported("transfer-coding other than chunked"),
            "{unsupported:?}"
        );
    }
    let status = |e| crate::http::error::ProxyError::from(e).status();
    assert_eq!(status(ParseError::Unsupported("x")), 501);
    assert_eq!(status(ParseError::Invalid("x")), 400);
}

#[test]
fn absolute_form_authority_must_be_host_port() {
    for good in [
        "http://a.test",
        "http://a.test:8080/x",
        "http://[::1]:80/",
        "http://[::1]",
        "http://127.0.0.1:1?q",
        "http://a.test:65535",
    ] {
        let buf = format!("GET {good} HTTP/1.1\r\nHost: b.test\r\n\r\n");
        assert!(parse(buf.as_bytes()).is_ok(), "{good}");
    }
    for bad in [
        "http://a.test:/x",
        "http://a.test:123456/",
        "http://a.test:65536/",
        "http://a.test:8x/",
        "http://a:1:2/",
        "http://:80/",
        "http://[::1/",
        "http://[]:80/",
        "http://[::1]x/",
        "http://a]b/",
    ] {
        let buf = format!("GET {bad} HTTP/1.1\r\nHost: b.test\r\n\r\n");
        invalid(buf.as_bytes(), "invalid authority in request target");
    }
}
