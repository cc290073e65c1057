//! An `h2c://` upstream that misbehaves or pushes back, frame by frame
//! (`frame_server`): GOAWAY while streams are in flight, REFUSED_STREAM, a
//! reset mid-body (relayed as a reset to an HTTP/2 client and as a cut
//! response to an HTTP/1.1 one), the server's stream limit, and 100 MB
//! bodies each way with bounded memory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::frame_server::{Action, FrameServer, Plan, Settings, now};
use crate::common::client::get;
use crate::common::config::{lb_service, lb_service_with, router};
use crate::common::io::{BufStream, Head};
use crate::common::*;

fn proxy(up: &FrameServer) -> Proxy {
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    Proxy::start(&ProxyConfig::new(&dynamic))
}

fn later(ms: u64, action: Action) -> Plan {
    Plan {
        delay: Duration::from_millis(ms),
        action,
    }
}

fn ok_from(p: &Proxy, conn: usize) {
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
    assert_eq!(r.text(), format!("conn={conn}"));
}

/// The server sends GOAWAY (last stream: the one before the newest) while
/// two streams are in flight: those two finish on the old connection, the
/// stream above the last one is retried on a new connection, and so is every
/// request after it.
#[test]
fn upstream_goaway_mid_traffic_finishes_in_flight_streams_and_moves_new_ones() {
    let up = FrameServer::start(Settings::default(), |conn, ordinal| match (conn, ordinal) {
        (0, 1 | 2) => later(800, Action::Ok),
        (0, 3) => now(Action::GoAwayBefore),
        _ => now(Action::Ok),
    });
    let p = proxy(&up);
    ok_from(&p, 0);
    let addr = p.addr();
    let in_flight: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get(addr, "app.test", "/")))
        .collect();
    assert!(up.wait_streams(3, IO_TIMEOUT));
    ok_from(&p, 1);
    ok_from(&p, 1);
    for t in in_flight {
        let r = t.join().unwrap();
        assert_eq!(r.status, 200, "{}", p.log_text());
        assert_eq!(r.text(), "conn=0", "finished where it started");
    }
    assert_eq!(up.seen(|s| s.streams.clone()), [4, 2]);
}

/// REFUSED_STREAM means the server did not process the stream (RFC 9113
/// §8.7): the request goes again, and the client sees only the answer.
#[test]
fn upstream_refused_stream_is_retried() {
    let up = FrameServer::start(Settings::default(), |_, ordinal| match ordinal {
        0 => now(Action::Refuse),
        _ => now(Action::Ok),
    });
    let p = proxy(&up);
    ok_from(&p, 0);
    assert_eq!(up.seen(|s| s.streams.clone()), [2]);
}

/// An HTTP/1.1 client gets the bytes that came, then the connection cut
/// without the chunked body's last chunk: the response is visibly incomplete.
#[test]
fn upstream_rst_stream_is_a_cut_response_for_an_http1_client() {
    let up = FrameServer::start(Settings::default(), |_, _| {
        now(Action::ResetAfter(b"partial"))
    });
    let p = proxy(&up);
    let mut s = TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .expect("proxyd closes the connection");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("partial"), "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "a clean end: {text}");
}

/// An HTTP/2 client gets the reset as a reset of its own stream, not as a
/// clean END_STREAM.
#[test]
fn upstream_rst_stream_is_a_reset_for_an_http2_client() {
    let up = FrameServer::start(Settings::default(), |_, _| {
        now(Action::ResetAfter(b"partial"))
    });
    let p = proxy(&up);
    let url = format!("http://{}/", p.addr());
    let out = std::process::Command::new("timeout")
        .args(["20", "nghttp", "-nv", "-H", ":authority: app.test", &url])
        .output()
        .expect("nghttp (Debian package nghttp2-client) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    // RST_STREAM on the stream itself (not a GOAWAY or a closed
    // connection), and no END_STREAM before it. Whether the head and the
    // bytes that came go out first is a race: resetting a stream drops
    // what is still queued for it.
    let reset = text.find("recv RST_STREAM frame").expect(&text);
    // nghttp prints a frame's line, then its flags (`; END_STREAM`) below it.
    let ended = text[..reset]
        .split("\n[")
        .any(|frame| frame.contains("] recv ") && frame.contains("END_STREAM"));
    assert!(!ended, "{text}\n{}", p.log_text());
    assert!(!text.contains("recv GOAWAY"), "{text}");
}

/// With the server's SETTINGS_MAX_CONCURRENT_STREAMS at 2, a third request
/// while two are in flight opens a second connection instead of waiting.
#[test]
fn a_second_connection_opens_when_the_first_is_at_the_servers_stream_limit() {
    let settings = Settings {
        max_concurrent_streams: Some(2),
    };
    // Long enough that no stream ends before the last request went out, even
    // on a slow machine: each request must see the others in flight.
    let up = FrameServer::start(settings, |conn, ordinal| match (conn, ordinal) {
        (0, 0) => now(Action::Ok),
        _ => later(2000, Action::Ok),
    });
    let p = proxy(&up);
    ok_from(&p, 0);
    let addr = p.addr();
    let mut clients = Vec::new();
    for n in 0..4 {
        clients.push(std::thread::spawn(move || get(addr, "app.test", "/")));
        // One at a time reaches the server: each sees the pool as it is.
        assert!(up.wait_streams(2 + n, IO_TIMEOUT), "{}", p.log_text());
    }
    let mut by_conn = [0, 0];
    for c in clients {
        let r = c.join().unwrap();
        assert_eq!(r.status, 200, "{}", p.log_text());
        by_conn[if r.text() == "conn=0" { 0 } else { 1 }] += 1;
    }
    assert_eq!(by_conn, [2, 2]);
    assert_eq!(up.seen(|s| s.streams.clone()), [3, 2]);
    assert!(up.seen(|s| s.peak_open.iter().all(|&n| n <= 2)));
}

/// 100 MB up to the h2c server and 100 MB down from it, through an HTTP/1.1
/// client: both stream under the windows, so proxyd's memory stays flat.
#[test]
fn a_100_mb_body_each_way_to_an_h2c_upstream_streams_with_bounded_memory() {
    const LEN: u64 = 100 * 1024 * 1024;
    let up = FrameServer::start(Settings::default(), |_, ordinal| match ordinal {
        0 => now(Action::Ok),
        1 => now(Action::Sink),
        _ => now(Action::Big(LEN)),
    });
    let p = proxy(&up);
    ok_from(&p, 0);
    let before = p.rss_kib().unwrap();
    let mut s = BufStream::new(TcpStream::connect(p.addr()).unwrap());
    let head = format!("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: {LEN}\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut pat = Pattern::new(LEN);
    while let Some(c) = pat.next_chunk() {
        s.write_all(c).unwrap();
    }
    let head = Head::parse(&s.read_head().unwrap().unwrap()).unwrap();
    let mut body = Vec::new();
    s.read_exact_to(head.content_length().unwrap(), &mut |b| {
        body.extend_from_slice(b)
    })
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("{LEN} {}", Pattern::fnv(LEN))
    );
    s.write_all(b"GET /down HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .unwrap();
    let head = Head::parse(&s.read_head().unwrap().unwrap()).unwrap();
    assert_eq!(head.content_length(), Some(LEN));
    let (mut n, mut fnv) = (0u64, Fnv::default());
    s.read_exact_to(LEN, &mut |b| {
        n += b.len() as u64;
        fnv.update(b);
    })
    .unwrap();
    assert_eq!((n, fnv.0), (LEN, Pattern::fnv(LEN)));
    let peak = p.peak_rss_kib();
    assert!(
        peak < before + 40 * 1024,
        "RSS grew from {before} KiB to {peak} KiB for a 100 MiB body each way"
    );
}

fn proxy_with_max_idle(up: &FrameServer, max_idle: usize) -> Proxy {
    let dynamic = router("r", "PathPrefix(`/`)", "app")
        + &lb_service_with("app", &[up.url()], "serversTransport = \"t\"\n")
        + &format!("[http.serversTransports.t]\nmaxIdleConnsPerHost = {max_idle}\n");
    Proxy::start(&ProxyConfig::new(&dynamic))
}

/// `maxIdleConnsPerHost` bounds the HTTP/2 connections without a stream as
/// it bounds idle HTTP/1.1 ones: three connections were needed at once
/// (the server takes one stream per connection), one stays once they idle,
/// and the next request reuses it.
#[test]
fn max_idle_conns_per_host_bounds_idle_h2_connections() {
    let settings = Settings {
        max_concurrent_streams: Some(1),
    };
    let up = FrameServer::start(settings, |conn, ordinal| match (conn, ordinal) {
        (0, 0) => now(Action::Ok),
        _ => later(2000, Action::Ok),
    });
    let p = proxy_with_max_idle(&up, 1);
    ok_from(&p, 0);
    let addr = p.addr();
    let mut clients = Vec::new();
    for n in 0..3 {
        clients.push(std::thread::spawn(move || get(addr, "app.test", "/")));
        assert!(up.wait_streams(2 + n, IO_TIMEOUT), "{}", p.log_text());
    }
    for c in clients {
        assert_eq!(c.join().unwrap().status, 200, "{}", p.log_text());
    }
    assert!(up.wait_closed(2, IO_TIMEOUT), "{}", p.log_text());
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 200);
    assert_eq!(up.seen(|s| (s.streams.len(), s.closed)), (3, 2));
}

/// With `maxIdleConnsPerHost = 0` no connection is kept: each request dials.
#[test]
fn max_idle_conns_per_host_zero_keeps_no_h2_connection() {
    let up = FrameServer::start(Settings::default(), |_, _| now(Action::Ok));
    let p = proxy_with_max_idle(&up, 0);
    ok_from(&p, 0);
    assert!(up.wait_closed(1, IO_TIMEOUT), "{}", p.log_text());
    ok_from(&p, 1);
    assert!(up.wait_closed(2, IO_TIMEOUT), "{}", p.log_text());
}
