//! Request-smuggling shapes: each is refused (400, or 501 for valid codings we
//! do not pass through), the connection is closed, and nothing (in particular
//! no smuggled second request) reaches the upstream as a complete request.
//! The framing the proxy does accept is forwarded in one regenerated form.

use std::time::Duration;

use crate::common::config::app;
use crate::common::*;

/// Sends `raw` in one write; asserts `status` + close, and that the upstream
/// saw no complete request from it.
fn assert_refused(raw: &[u8], status: u16) {
    let up = Upstream::echo("up");
    // One worker (the default): the refused connection is handled before the
    // probe below, so anything it forwarded reaches the upstream first.
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    c.send(raw);
    c.deadline(Duration::from_secs(10));
    let r = c
        .try_read_response("POST")
        .unwrap_or_else(|e| panic!("no response to {:?}: {e}", String::from_utf8_lossy(raw)));
    assert_eq!(
        r.status,
        status,
        "request {:?}",
        String::from_utf8_lossy(raw)
    );
    c.closed_within(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connection not closed after {status}: {e}"));
    assert_only_probe_forwarded(&p, &up);
}

/// Sends a valid probe request on a fresh connection and waits (bounded) until
/// the upstream has it; the upstream's list must then hold the probe alone.
/// This also shows the proxy is still healthy.
fn assert_only_probe_forwarded(p: &Proxy, up: &Upstream) {
    let ok = crate::common::client::get(p.addr(), "app.test", "/probe");
    assert_eq!(ok.status, 200);
    assert!(
        up.wait_requests(1, Duration::from_secs(10)),
        "probe not seen"
    );
    let seen = up.requests();
    assert!(
        seen.iter().all(|s| !s.target.contains("smuggled")),
        "smuggled request reached the upstream: {seen:#?}"
    );
    let targets: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(targets, ["/probe"], "upstream saw {seen:#?}");
}

macro_rules! refused {
    ($($name:ident => $status:literal, $raw:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_refused($raw, $status);
            }
        )*
    };
}

refused! {
    smuggling_cl_and_te_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    smuggling_te_and_cl_order_swapped_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    smuggling_differing_content_lengths_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
    smuggling_te_not_ending_in_chunked_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n";
    smuggling_te_gzip_only_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\n\r\nabc";
    smuggling_obs_fold_header_rejected_400 => 400,
        b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Folded: first\r\n  second\r\n\r\n";
    smuggling_obs_fold_transfer_encoding_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n";
    smuggling_bare_lf_request_rejected_400 => 400,
        b"GET / HTTP/1.1\nHost: app.test\n\n";
    smuggling_bare_lf_in_headers_rejected_400 => 400,
        b"GET / HTTP/1.1\r\nHost: app.test\nX-A: b\r\n\r\n";
    smuggling_invalid_chunk_size_zz_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
    smuggling_negative_chunk_size_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nhello\r\n0\r\n\r\n";
    smuggling_overflowing_chunk_size_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n\
          10000000000000001\r\nhello\r\n0\r\n\r\n";
    smuggling_negative_content_length_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n";
    smuggling_garbage_content_length_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1x\r\n\r\nx";
    smuggling_missing_host_http11_rejected_400 => 400,
        b"GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n";
    smuggling_two_host_headers_rejected_400 => 400,
        b"GET / HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n";
    malformed_request_line_rejected_400 => 400,
        b"GET /\r\nHost: app.test\r\n\r\n";
    smuggling_te_leading_empty_element_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: ,chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    smuggling_te_trailing_empty_element_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n";
    smuggling_te_double_comma_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked,,\r\n\r\n0\r\n\r\n";
    smuggling_te_chunked_twice_in_one_line_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n";
    smuggling_te_chunked_on_two_lines_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    smuggling_te_chunked_with_parameter_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n";
    smuggling_te_quoted_chunked_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n";
    smuggling_te_chunked_vertical_tab_rejected_400 => 400,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n";
    smuggling_te_gzip_then_chunked_refused_501 => 501,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
    smuggling_te_gzip_and_chunked_lines_refused_501 => 501,
        b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
}

/// `Transfer-Encoding` as one exact `chunked` in any case and spacing is
/// accepted, and the upstream gets one regenerated `Transfer-Encoding: chunked`
/// line, never the client's bytes.
#[test]
fn transfer_encoding_forwarded_as_one_normalised_line() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut c = Client::connect(p.addr());
    c.send(
        b"POST /te HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:  CHUNKED \r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n",
    );
    c.deadline(Duration::from_secs(10));
    assert_eq!(c.read_final("POST").status, 200);
    let seen = up.only_request();
    assert_eq!(seen.headers_named("transfer-encoding"), ["chunked"]);
    assert!(!seen.has_header("content-length"), "{:?}", seen.headers);
    assert_eq!(seen.body, b"hello");
}

/// Identical duplicate Content-Length (two lines, `5, 5`, `5,5`) is accepted
/// and forwarded as exactly one `Content-Length: 5`; the body is delimited by
/// it, so the pipelined request after it stays a separate one.
#[test]
fn identical_duplicate_content_length_forwarded_once() {
    for lines in [
        "Content-Length: 5\r\nContent-Length: 5\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: 5,5\r\n",
    ] {
        let up = Upstream::echo("up");
        let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
        let mut c = Client::connect(p.addr());
        c.send(
            format!(
                "POST /a HTTP/1.1\r\nHost: app.test\r\n{lines}\r\nhello\
                 GET /b HTTP/1.1\r\nHost: app.test\r\n\r\n"
            )
            .as_bytes(),
        );
        c.deadline(Duration::from_secs(10));
        assert_eq!(c.read_final("POST").status, 200, "{lines:?}");
        assert_eq!(c.read_response().status, 200, "{lines:?}");
        let seen = up.requests();
        assert_eq!(seen.len(), 2, "{lines:?}: {seen:#?}");
        assert_eq!(seen[0].headers_named("content-length"), ["5"], "{lines:?}");
        assert_eq!(seen[0].body, b"hello", "{lines:?}");
        assert_eq!(seen[1].target, "/b", "{lines:?}");
    }
}
