//! Request-smuggling shapes: each is answered 400, the connection is closed,
//! and nothing (in particular no smuggled second request) reaches the
//! upstream as a complete request.

use std::time::Duration;

use crate::common::config::app;
use crate::common::*;

/// Sends `raw` in one write; asserts 400 + close, and that the upstream saw
/// no complete request.
fn assert_rejected(raw: &[u8]) {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    c.send(raw);
    c.deadline(Duration::from_secs(10));
    let r = c
        .try_read_response("POST")
        .unwrap_or_else(|e| panic!("no response to {:?}: {e}", String::from_utf8_lossy(raw)));
    assert_eq!(r.status, 400, "request {:?}", String::from_utf8_lossy(raw));
    c.closed_within(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connection not closed after 400: {e}"));
    // Give a wrongly forwarded request a moment to show up.
    std::thread::sleep(Duration::from_millis(100));
    let seen = up.requests();
    assert!(seen.is_empty(), "upstream saw {seen:#?}");
    assert!(
        seen.iter().all(|s| !s.target.contains("smuggled")),
        "smuggled request reached the upstream"
    );
    // The proxy is still healthy.
    let ok = crate::common::client::get(p.addr(), "app.test", "/healthy");
    assert_eq!(ok.status, 200);
}

macro_rules! rejected {
    ($($name:ident => $raw:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_rejected($raw);
            }
        )*
    };
}

rejected! {
    smuggling_cl_and_te_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    smuggling_te_and_cl_order_swapped_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    smuggling_differing_content_lengths_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
    smuggling_te_not_ending_in_chunked_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n";
    smuggling_te_gzip_only_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\n\r\nabc";
    smuggling_obs_fold_header_rejected_400 =>
        b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Folded: first\r\n  second\r\n\r\n";
    smuggling_obs_fold_transfer_encoding_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n";
    smuggling_bare_lf_request_rejected_400 =>
        b"GET / HTTP/1.1\nHost: app.test\n\n";
    smuggling_bare_lf_in_headers_rejected_400 =>
        b"GET / HTTP/1.1\r\nHost: app.test\nX-A: b\r\n\r\n";
    smuggling_invalid_chunk_size_zz_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
    smuggling_negative_chunk_size_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nhello\r\n0\r\n\r\n";
    smuggling_overflowing_chunk_size_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n\
          10000000000000001\r\nhello\r\n0\r\n\r\n";
    smuggling_negative_content_length_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n";
    smuggling_garbage_content_length_rejected_400 =>
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1x\r\n\r\nx";
    smuggling_missing_host_http11_rejected_400 =>
        b"GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n";
    smuggling_two_host_headers_rejected_400 =>
        b"GET / HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n";
    malformed_request_line_rejected_400 =>
        b"GET /\r\nHost: app.test\r\n\r\n";
}

/// Not smuggling: a Content-Length header repeated with the same value is
/// allowed by RFC 9110 (it may be folded into one); just make sure the body
/// is delimited by it and the following request is a separate one.
#[test]
fn identical_duplicate_content_length_does_not_desync() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    c.send(
        b"POST /a HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc\
          GET /b HTTP/1.1\r\nHost: app.test\r\n\r\n",
    );
    c.deadline(Duration::from_secs(10));
    let r = c.read_response();
    if r.status == 400 {
        // Rejecting it is also acceptable; then nothing may be forwarded.
        assert!(up.requests().is_empty());
        return;
    }
    assert_eq!(r.status, 200);
    assert_eq!(c.read_response().status, 200);
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, b"abc");
    assert_eq!(seen[1].target, "/b");
}
