//! `mirroring` services through the real binary: each mirror gets its
//! percentage of the requests, with the body, the client never waits for a
//! mirror that is slow or dead, and a body over `maxBodySize` is not copied.

use std::time::{Duration, Instant};

use crate::common::config::{lb_service, router};
use crate::common::upstream::Upstream;
use crate::common::*;
use crate::observe::{api, with_admin};

const LIMIT: Duration = Duration::from_secs(10);

/// Router app.test → mirroring `app` over `main`, with these mirrors
/// (`{ name = …, percent = … }`) and extra lines in the mirroring table.
fn mirrored_app(main: &str, mirrors: &[(&str, &str, u32)], extra: &str) -> String {
    let list: Vec<String> = (mirrors.iter())
        .map(|(name, _, p)| format!("{{ name = \"{name}\", percent = {p} }}"))
        .collect();
    let mut s = format!(
        "{}[http.services.app.mirroring]\nservice = \"main\"\nmirrors = [{}]\n{extra}{}",
        router("app", "Host(`app.test`)", "app"),
        list.join(", "),
        lb_service("main", &[main.to_string()]),
    );
    for (name, url, _) in mirrors {
        s.push_str(&lb_service(name, &[url.to_string()]));
    }
    s
}

fn wait_count(u: &Upstream, n: usize) -> usize {
    let _ = poll_until(LIMIT, Duration::from_millis(20), || {
        (u.requests().len() >= n).then_some(())
    });
    // A little longer: a copy beyond `n` would show up now.
    std::thread::sleep(Duration::from_millis(200));
    u.requests().len()
}

#[test]
fn each_mirror_gets_its_percent_of_the_requests() {
    let main = Upstream::start("main", Behavior::fixed(200, b"main"));
    let (m1, m2) = (
        Upstream::start("m1", Behavior::fixed(200, b"m1")),
        Upstream::start("m2", Behavior::fixed(200, b"m2")),
    );
    let text = mirrored_app(
        &main.url(),
        &[("m1", &m1.url(), 50), ("m2", &m2.url(), 10)],
        "",
    );
    let cfg = with_admin(ProxyConfig::new(&text), "[api]\ninsecure = true\n");
    let p = Proxy::start(&cfg);
    let mut c = Client::connect(p.addr());
    for _ in 0..200 {
        let r = c.request("GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n");
        assert_eq!(r.text(), "main");
    }
    let (n1, n2) = (wait_count(&m1, 100), wait_count(&m2, 20));
    // 100 and 20 expected; within 5% of the requests.
    assert!((90..=110).contains(&n1), "m1 got {n1}");
    assert!((10..=30).contains(&n2), "m2 got {n2}");
    let seen = &m1.requests()[0];
    assert_eq!(seen.target, "/x");
    assert_eq!(seen.header("host"), Some("app.test"));

    let (status, doc) = api(&p, "/api/http/services/app@file");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["type"], "mirroring");
    assert_eq!(doc["mirroring"]["service"], "main");
    assert_eq!(doc["mirroring"]["mirrors"][1]["percent"], 10);
}

#[test]
fn a_slow_or_dead_mirror_does_not_delay_the_client() {
    let main = Upstream::start("main", Behavior::fixed(200, b"main"));
    let slow = Upstream::start(
        "slow",
        Behavior::fixed(200, b"slow").delay(Duration::from_secs(5)),
    );
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let text = mirrored_app(
        &main.url(),
        &[("slow", &slow.url(), 100), ("dead", &dead, 100)],
        "",
    );
    let p = Proxy::start(&ProxyConfig::new(&text));
    let mut c = Client::connect(p.addr());
    let start = Instant::now();
    for _ in 0..10 {
        let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
        assert_eq!((r.status, r.text().as_str()), (200, "main"));
    }
    // Ten answers from a mirror would take 50 s; the client's take no time.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        slow.wait_heads(10, LIMIT),
        "every request was copied to the slow mirror"
    );
}

#[test]
fn bodies_are_copied_within_max_body_size() {
    let main = Upstream::start("main", Behavior::fixed(200, b"main"));
    let m = Upstream::start("m", Behavior::fixed(200, b"m"));
    let text = mirrored_app(&main.url(), &[("m", &m.url(), 100)], "maxBodySize = 8\n");
    let p = Proxy::start(&ProxyConfig::new(&text));
    let mut c = Client::connect(p.addr());
    let post = |body: &str| {
        format!(
            "POST /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    assert_eq!(c.request(&post("small")).text(), "main");
    assert_eq!(c.request(&post("larger than eight")).text(), "main");
    assert_eq!(c.request(&post("tiny")).text(), "main");
    assert_eq!(wait_count(&m, 2), 2, "the large body was not copied");
    let bodies: Vec<Vec<u8>> = m.requests().into_iter().map(|s| s.body).collect();
    assert_eq!(bodies, [b"small".to_vec(), b"tiny".to_vec()]);
    assert_eq!(main.requests().len(), 3);
}

/// A chunked POST of `size` bytes (4 KiB chunks), sent in pieces so that it
/// streams rather than arriving with the head.
fn chunked_post(c: &mut Client, size: usize) -> (Vec<u8>, client::Response) {
    let body: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    c.send(b"POST /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in body.chunks(4096) {
        c.send(format!("{:x}\r\n", piece.len()).as_bytes());
        c.send(piece);
        c.send(b"\r\n");
    }
    c.send(b"0\r\n\r\n");
    (body, c.read_response())
}

#[test]
fn streamed_bodies_reach_the_mirror_within_max_body_size_without_delaying_the_client() {
    let main = Upstream::echo("main");
    // A mirror that takes 3 s to answer each copy.
    let m = Upstream::start(
        "m",
        Behavior::fixed(200, b"m").delay(Duration::from_secs(3)),
    );
    let extra = "maxBodySize = 100000\n";
    let text = mirrored_app(&main.url(), &[("m", &m.url(), 100)], extra);
    let p = Proxy::start(&ProxyConfig::new(&text));
    let mut c = Client::connect(p.addr());
    let start = Instant::now();
    let (small, r) = chunked_post(&mut c, 64 * 1024);
    assert_eq!(r.status, 200);
    let (large, r) = chunked_post(&mut c, 128 * 1024);
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the client waited for the mirror: {:?}",
        start.elapsed()
    );
    let bodies: Vec<Vec<u8>> = main.requests().into_iter().map(|s| s.body).collect();
    assert_eq!(bodies, [small.clone(), large]);
    // The 64 KiB body reached the mirror whole; the 128 KiB one, over
    // maxBodySize, was not copied.
    assert_eq!(wait_count(&m, 1), 1);
    let copy = m.only_request();
    assert_eq!(copy.header("transfer-encoding"), Some("chunked"));
    assert!(
        copy.body == small,
        "the mirror got {} bytes",
        copy.body.len()
    );
}
