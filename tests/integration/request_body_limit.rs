//! The entry point's `transport.maxRequestBodyBytes` (proxyd's own): a
//! declared length over it is answered 413 before anything goes upstream, a
//! chunked body is cut when it passes it and answered 413, and bodies within
//! it pass.

use crate::common::client::Client;
use crate::common::*;

fn start(up: &Upstream) -> Proxy {
    let cfg = ProxyConfig::new(&config::app(&[up.url()])).web(|ep| {
        ep.extra = "[entryPoints.web.transport]\nmaxRequestBodyBytes = 1000\n".into();
    });
    Proxy::start(&cfg)
}

#[test]
fn a_declared_body_over_the_limit_is_413_without_reaching_the_upstream() {
    let up = Upstream::echo("up");
    let p = start(&up);
    let mut c = Client::connect(p.addr());
    // Only the head and a little of the body: the answer comes without the rest.
    c.send(b"POST /big HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1001\r\n\r\nsome");
    let r = c.read_response();
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), "413 Request Entity Too Large\n");
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(up.connections(), 0);

    let body = "x".repeat(1000);
    let mut c = Client::connect(p.addr());
    let r = c.request(&format!(
        "POST /fits HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1000\r\n\r\n{body}"
    ));
    assert_eq!(r.status, 200);
    assert_eq!(up.only_request().body_len, 1000);
}

#[test]
fn a_chunked_body_is_cut_at_the_limit_and_answered_413() {
    let up = Upstream::echo("up");
    let p = start(&up);
    let chunk = format!("258\r\n{}\r\n", "y".repeat(600));
    let mut c = Client::connect(p.addr());
    c.send(
        format!("POST /stream HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n")
            .as_bytes(),
    );
    let r = c.read_response();
    assert_eq!(r.status, 413);
    assert!(
        up.requests().iter().all(|s| s.body_len < 1000),
        "the upstream never got it whole"
    );

    let mut c = Client::connect(p.addr());
    let r = c.request(&format!(
        "POST /small HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}0\r\n\r\n"
    ));
    assert_eq!(r.status, 200);
}
