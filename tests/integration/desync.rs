//! Response-side desync: an upstream that sends bytes beyond the response it
//! framed (a body after 204/304, a body after a response to HEAD, bytes after a
//! Content-Length body), at once or a little later, must never have those bytes
//! read as the response to a later request on the same pooled connection,
//! which may belong to another client. Each test sends the poisoned exchange
//! from one client, then requests from other clients, and checks every answer
//! is the one meant for it.

use std::time::Duration;

use crate::common::client::get;
use crate::common::config::app;
use crate::common::scripted::{ok, send};
use crate::common::*;

/// A response that a broken or hostile upstream appends: were it read as the
/// next response, a client would get this body.
const EVIL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL";

fn one_worker(url: String) -> Proxy {
    let mut cfg = ProxyConfig::new(&app(&[url]));
    cfg.cores = Some(1);
    Proxy::start(&cfg)
}

/// `/poison` gets `first` then (after `delay`) [`EVIL`] on the same
/// connection; every other request gets an honest answer naming its target.
fn poisoning(first: &'static [u8], delay: Option<Duration>) -> Scripted {
    Scripted::start(move |req, _| {
        if req.target == "/poison" {
            let mut steps = vec![send(first)];
            if let Some(d) = delay {
                steps.push(Step::Pause(d));
            }
            steps.push(send(EVIL));
            steps
        } else {
            vec![Step::Send(ok(&format!("for {}", req.target)))]
        }
    })
}

/// Runs the poisoned exchange, lets the stray bytes arrive, then checks that
/// clients on other connections each get their own answer.
fn check_no_cross_talk(up: &Scripted, p: &Proxy, method: &str, first_status: u16) {
    let finished = up.finished();
    let mut a = Client::connect(p.addr());
    let r = a.request(&format!(
        "{method} /poison HTTP/1.1\r\nHost: app.test\r\n\r\n"
    ));
    assert_eq!(r.status, first_status);
    // The stray bytes are written once the origin's script ended (even the "at
    // once" ones are a second write); loopback hands them to proxyd right away.
    assert!(
        up.wait_finished(finished + 1, Duration::from_secs(5)),
        "origin never sent them"
    );
    for i in 0..3 {
        let r = get(p.addr(), "app.test", &format!("/other{i}"));
        assert_eq!(r.status, 200, "client {i}");
        assert_eq!(
            r.text(),
            format!("for /other{i}"),
            "client {i} got another's response"
        );
    }
    // The first client's next request gets its own answer, too.
    let r = a.request("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.text(), "for /again");
    assert!(up.requests().iter().all(|s| s.target != "/evil"));
}

macro_rules! desync_cases {
    ($($name:ident: $method:expr, $first:expr, $status:expr, $delay:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let delay: Option<Duration> = $delay;
                let up = poisoning($first, delay);
                let p = one_worker(up.url());
                check_no_cross_talk(&up, &p, $method, $status);
            }
        )*
    };
}

const AFTER: Option<Duration> = Some(Duration::from_millis(100));

desync_cases! {
    desync_body_after_204_at_once: "GET", b"HTTP/1.1 204 No Content\r\n\r\n", 204, None;
    desync_body_after_204_later: "GET", b"HTTP/1.1 204 No Content\r\n\r\n", 204, AFTER;
    desync_body_after_304_at_once: "GET", b"HTTP/1.1 304 Not Modified\r\n\r\n", 304, None;
    desync_body_after_304_later: "GET", b"HTTP/1.1 304 Not Modified\r\n\r\n", 304, AFTER;
    desync_body_after_head_response_at_once:
        "HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, None;
    desync_body_after_head_response_later:
        "HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, AFTER;
    desync_bytes_after_content_length_body_at_once:
        "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, None;
    desync_bytes_after_content_length_body_later:
        "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, AFTER;
    desync_bytes_after_chunked_body_later:
        "GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, AFTER;
}
