//! Trailers between HTTP/2 clients and HTTP/1.1 upstreams: a chunked
//! response's trailer section ends the client's stream as a HEADERS frame,
//! and a client's request trailers go in the chunked request's trailer
//! section; fields that may not be trailers are dropped both ways.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use super::frames::{
    DATA, END_HEADERS, END_STREAM_HEADERS, HEADERS, frame, get_block, open, read_until,
};
use crate::common::config::{lb_service, router};
use crate::common::*;

fn proxy(up: &Upstream) -> Proxy {
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    Proxy::start(&ProxyConfig::new(&dynamic))
}

#[test]
fn an_http1_upstreams_chunked_trailers_reach_an_http2_client_as_trailers() {
    let up = Upstream::start(
        "up",
        Behavior::raw(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n\
              5\r\nhello\r\n0\r\nX-Sum: abc\r\nContent-Length: 9\r\n\r\n",
        ),
    );
    let p = proxy(&up);
    let url = format!("http://{}/t", p.addr());
    let out = Command::new("timeout")
        .args(["20", "nghttp", "-nv", &url])
        .output()
        .expect("nghttp (Debian package nghttp2-client) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    // After the body's DATA: the trailer field, then the HEADERS frame that
    // carried it and ended the stream (nghttp prints fields before frames).
    let data = text.find("recv DATA frame <length=5").expect(&text);
    let after = &text[data..];
    assert!(after.contains("x-sum: abc"), "{text}");
    assert!(after.contains("END_STREAM | END_HEADERS"), "{text}");
    assert!(
        !after.contains("content-length"),
        "a forbidden trailer: {text}"
    );
}

#[test]
fn an_http2_clients_request_trailers_reach_an_http1_upstream_in_the_chunked_body() {
    let up = Upstream::echo("up");
    let p = proxy(&up);
    let mut s = open(p.addr());
    let mut post = get_block();
    post[0] = 0x83; // :method POST
    // Trailers: `x-sum: abc` and `host: evil` (forbidden), literals with new names.
    let mut trailers = Vec::new();
    for (name, value) in [(&b"x-sum"[..], &b"abc"[..]), (b"host", b"evil")] {
        trailers.push(0x00);
        trailers.push(name.len() as u8);
        trailers.extend_from_slice(name);
        trailers.push(value.len() as u8);
        trailers.extend_from_slice(value);
    }
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_HEADERS, 1, &post);
    frame(&mut out, DATA, 0, 1, b"hello");
    frame(&mut out, HEADERS, END_STREAM_HEADERS, 1, &trailers);
    s.write_all(&out).unwrap();
    let answered = read_until(&mut s, Duration::from_secs(10), |kind, stream, payload| {
        kind == HEADERS && stream == 1 && payload.first() == Some(&0x88)
    });
    assert!(answered, "{}", p.log_text());
    let seen = up.only_request();
    assert!(seen.chunked);
    assert_eq!(seen.body, b"hello");
    assert_eq!(seen.trailers, [("x-sum".to_string(), "abc".to_string())]);
}
