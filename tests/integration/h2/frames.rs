//! HTTP/2 driven frame by frame (h2c): the rapid-reset attack, the idle
//! timeout and a graceful stop, each answered with GOAWAY.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::curl;
use crate::common::config::{lb_service, router};
use crate::common::*;

pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub(super) const DATA: u8 = 0;
pub(super) const HEADERS: u8 = 1;
pub(super) const RST_STREAM: u8 = 3;
pub(super) const SETTINGS: u8 = 4;
pub(super) const GOAWAY: u8 = 7;
pub(super) const END_STREAM_HEADERS: u8 = 0x5;
pub(super) const END_HEADERS: u8 = 0x4;
const CANCEL: u32 = 0x8;
pub(super) const ENHANCE_YOUR_CALM: u32 = 0xb;

pub(super) fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// `GET /` for app.test in HPACK: static-table indices for :method GET,
/// :scheme http and :path /, then :authority as a literal without indexing.
pub(super) fn get_block() -> Vec<u8> {
    let mut b = vec![0x82, 0x86, 0x84, 0x01, 8];
    b.extend_from_slice(b"app.test");
    b
}

/// A connection that sent the preface and an empty SETTINGS.
pub(super) fn open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut out = PREFACE.to_vec();
    frame(&mut out, SETTINGS, 0, 0, &[]);
    s.write_all(&out).unwrap();
    s
}

/// Reads frames until a GOAWAY comes (its error code) or the deadline.
pub(super) fn goaway(s: &mut TcpStream, limit: Duration) -> Option<u32> {
    let end = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    while Instant::now() < end {
        while buf.len() >= 9 {
            let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
            if buf.len() < 9 + len {
                break;
            }
            if buf[3] == GOAWAY && len >= 8 {
                return Some(u32::from_be_bytes(buf[13..17].try_into().unwrap()));
            }
            buf.drain(..9 + len);
        }
        match s.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return None,
        }
    }
    None
}

/// Reads frames until `hit(kind, stream, payload)` says so (true), or the
/// deadline or the connection's end (false).
pub(super) fn read_until(
    s: &mut TcpStream,
    limit: Duration,
    mut hit: impl FnMut(u8, u32, &[u8]) -> bool,
) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let end = Instant::now() + limit;
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 16384]);
    while Instant::now() < end {
        while buf.len() >= 9 {
            let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
            if buf.len() < 9 + len {
                break;
            }
            let stream = u32::from_be_bytes(buf[5..9].try_into().unwrap()) & 0x7fff_ffff;
            if hit(buf[3], stream, &buf[9..9 + len]) {
                return true;
            }
            buf.drain(..9 + len);
        }
        match s.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return false,
        }
    }
    false
}

pub(super) fn start(up: &Upstream, idle: Option<&str>) -> Proxy {
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let cfg = ProxyConfig::new(&dynamic).web(|ep| ep.idle_timeout = idle.map(str::to_string));
    Proxy::start(&cfg)
}

pub(super) fn served(p: &Proxy) -> String {
    let url = format!("http://{}/after", p.addr());
    curl(&[
        "--http2-prior-knowledge",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ])
    .0
}

/// CVE-2023-44487: streams opened and reset at once, in a loop. proxyd ends
/// the connection with GOAWAY ENHANCE_YOUR_CALM and keeps serving others.
#[test]
fn rapid_reset_gets_goaway_and_other_clients_are_served() {
    let up = Upstream::start(
        "up",
        Behavior::fixed(200, b"ok").delay(Duration::from_millis(200)),
    );
    let p = start(&up, None);
    let mut s = open(p.addr());
    let block = get_block();
    let mut out = Vec::new();
    for i in 0..2000u32 {
        let id = 1 + 2 * i;
        frame(&mut out, HEADERS, END_STREAM_HEADERS, id, &block);
        frame(&mut out, RST_STREAM, 0, id, &CANCEL.to_be_bytes());
    }
    // proxyd may close before taking it all.
    let _ = s.write_all(&out);
    assert_eq!(
        goaway(&mut s, Duration::from_secs(10)),
        Some(ENHANCE_YOUR_CALM)
    );
    assert_eq!(served(&p), "200");
}

#[test]
fn an_idle_connection_gets_goaway_after_idle_timeout() {
    let up = Upstream::echo("up");
    let p = start(&up, Some("1s"));
    let mut s = open(p.addr());
    let started = Instant::now();
    assert_eq!(goaway(&mut s, Duration::from_secs(8)), Some(0));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn a_stop_sends_goaway_to_open_connections() {
    let up = Upstream::echo("up");
    let p = start(&up, None);
    let mut s = open(p.addr());
    // The connection is up (proxyd's SETTINGS came) before the stop.
    let mut head = [0u8; 9];
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[3], SETTINGS);
    let mut payload = vec![0u8; u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize];
    s.read_exact(&mut payload).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    p.signal(libc::SIGTERM);
    assert_eq!(goaway(&mut s, Duration::from_secs(8)), Some(0));
}

/// A client that resets its stream while the upstream works on it has left:
/// 499 in the log at once, and the upstream connection is not pooled (it is mid-
/// response), so the next request dials a fresh one.
#[test]
fn a_client_reset_is_a_departure_and_the_upstream_connection_is_dropped() {
    let up = Upstream::start(
        "up",
        Behavior::fixed(200, b"ok").delay(Duration::from_secs(5)),
    );
    let p = start(&up, None);
    let mut s = open(p.addr());
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_STREAM_HEADERS, 1, &get_block());
    s.write_all(&out).unwrap();
    assert!(up.wait_heads(1, IO_TIMEOUT));
    out.clear();
    frame(&mut out, RST_STREAM, 0, 1, &CANCEL.to_be_bytes());
    s.write_all(&out).unwrap();
    assert!(
        p.wait_log("status=499", Duration::from_secs(2)),
        "{}",
        p.log_text()
    );
    assert_eq!(served(&p), "200");
    assert_eq!(
        up.connections(),
        2,
        "the reset exchange's connection was not reused"
    );
}

/// A body past `maxRequestBodyBytes` without a declared length: 413, then
/// RST_STREAM(NO_ERROR) so the client stops sending (RFC 9113 §8.1), and the
/// connection serves its next stream.
#[test]
fn a_body_over_the_limit_gets_413_then_no_error_reset_and_the_connection_goes_on() {
    let up = Upstream::echo("up");
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let cfg = ProxyConfig::new(&dynamic).web(|ep| {
        ep.extra = "[entryPoints.web.transport]\nmaxRequestBodyBytes = 1000\n".into();
    });
    let p = Proxy::start(&cfg);
    let mut s = open(p.addr());
    let mut post = get_block();
    post[0] = 0x83; // :method POST
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_HEADERS, 1, &post);
    frame(&mut out, DATA, 0, 1, &[b'y'; 1200]);
    s.write_all(&out).unwrap();
    let mut seen = Vec::new();
    read_until(&mut s, Duration::from_secs(10), |kind, stream, payload| {
        if stream == 1 && matches!(kind, HEADERS | RST_STREAM) {
            seen.push((kind, payload.to_vec()));
        }
        kind == RST_STREAM
    });
    // `:status 413` is not in HPACK's static table: a literal of name index 8
    // (`:status`), its value "413" plain or Huffman-coded.
    let is_413 = |h: &[u8]| {
        matches!(h.first(), Some(0x08 | 0x48))
            && (h[1..].starts_with(b"\x03413") || h[1..].starts_with(&[0x83, 0x68, 0x2c, 0xff]))
    };
    assert!(
        matches!(&seen[..], [(HEADERS, h), (RST_STREAM, r)] if is_413(h) && r == &[0, 0, 0, 0]),
        "{seen:?}"
    );
    out.clear();
    frame(&mut out, HEADERS, END_STREAM_HEADERS, 3, &get_block());
    s.write_all(&out).unwrap();
    let answered = read_until(&mut s, Duration::from_secs(10), |kind, stream, payload| {
        kind == HEADERS && stream == 3 && payload.first() == Some(&0x88)
    });
    assert!(answered, "the next stream on the connection is served");
}
