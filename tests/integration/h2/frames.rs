//! HTTP/2 driven frame by frame (h2c): the rapid-reset attack, the idle
//! timeout and a graceful stop, each answered with GOAWAY.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::curl;
use crate::common::config::{lb_service, router};
use crate::common::*;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const END_STREAM_HEADERS: u8 = 0x5;
const CANCEL: u32 = 0x8;
const ENHANCE_YOUR_CALM: u32 = 0xb;

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// `GET /` for app.test in HPACK: static-table indices for :method GET,
/// :scheme http and :path /, then :authority as a literal without indexing.
fn get_block() -> Vec<u8> {
    let mut b = vec![0x82, 0x86, 0x84, 0x01, 8];
    b.extend_from_slice(b"app.test");
    b
}

/// A connection that sent the preface and an empty SETTINGS.
fn open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut out = PREFACE.to_vec();
    frame(&mut out, SETTINGS, 0, 0, &[]);
    s.write_all(&out).unwrap();
    s
}

/// Reads frames until a GOAWAY comes (its error code) or the deadline.
fn goaway(s: &mut TcpStream, limit: Duration) -> Option<u32> {
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

fn start(up: &Upstream, idle: Option<&str>) -> Proxy {
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let cfg = ProxyConfig::new(&dynamic).web(|ep| ep.idle_timeout = idle.map(str::to_string));
    Proxy::start(&cfg)
}

fn served(p: &Proxy) -> String {
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
