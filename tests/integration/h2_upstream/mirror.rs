//! A `mirroring` service whose mirror is an `h2c://` server: the copy goes
//! over HTTP/2 (the frame server only speaks HTTP/2, so an HTTP/1.1 copy
//! would never show up as a stream), with its body, chunked or not.

use std::time::Duration;

use super::frame_server::{Action, FrameServer, Settings, now};
use crate::common::config::{lb_service, router};
use crate::common::*;

#[test]
fn a_mirror_to_an_h2c_server_gets_the_copy_over_http2() {
    let main = Upstream::start("main", Behavior::fixed(200, b"main"));
    let mirror = FrameServer::start(Settings::default(), |_, _| now(Action::Ok));
    let dynamic = format!(
        "{}[http.services.app.mirroring]\nservice = \"main\"\n\
         mirrors = [{{ name = \"m\", percent = 100 }}]\n{}{}",
        router("app", "Host(`app.test`)", "app"),
        lb_service("main", &[main.url()]),
        lb_service("m", &[mirror.url()]),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let mut c = Client::connect(p.addr());
    let sent = [
        "GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n",
        "POST /b HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nwor\r\n2\r\nld\r\n0\r\n\r\n",
    ];
    for (n, raw) in sent.iter().enumerate() {
        assert_eq!(c.request(raw).text(), "main");
        // One at a time, so the copies arrive in order.
        let arrived = poll_until(IO_TIMEOUT, Duration::from_millis(10), || {
            (mirror.seen(|s| s.bodies.len()) > n).then_some(())
        });
        assert!(
            arrived.is_some(),
            "copy {n} did not arrive\n{}",
            p.log_text()
        );
    }
    let bodies = mirror.seen(|s| s.bodies.clone());
    assert_eq!(
        bodies,
        [
            (0, Fnv::of(b"")),
            (5, Fnv::of(b"hello")),
            (5, Fnv::of(b"world"))
        ]
    );
    // The copies shared one connection.
    assert_eq!(mirror.seen(|s| s.streams.clone()), [3]);
}
