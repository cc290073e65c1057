//! Protocol switches: an Upgrade (WebSocket) handshake answered 101 becomes a
//! two-way byte tunnel with half-close passed through; CONNECT is refused (501).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::common::client::request;
use crate::common::config::app;
use crate::common::*;

/// An upstream that answers one Upgrade with 101, then upper-cases every byte it
/// receives until the client half-closes, then sends "bye" and closes.
fn websocket_upstream() -> (String, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n].to_ascii_uppercase()).unwrap();
        }
        s.write_all(b"bye").unwrap();
        String::from_utf8(head).unwrap()
    });
    (url, handle)
}

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn websocket_upgrade_becomes_a_two_way_tunnel_with_half_close() {
    let (url, upstream) = websocket_upstream();
    let p = Proxy::start(&ProxyConfig::new(&app(&[url])));
    let mut s = TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"GET /chat HTTP/1.1\r\nHost: app.test\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n")
        .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    for word in ["hello", "tunnel"] {
        s.write_all(word.as_bytes()).unwrap();
        let mut got = vec![0u8; word.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(got, word.to_ascii_uppercase().as_bytes());
    }
    s.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"bye", "the upstream's reply after our half-close");
    let seen = upstream.join().unwrap().to_ascii_lowercase();
    assert!(seen.contains("upgrade: websocket\r\n"), "{seen}");
    assert!(seen.contains("connection: upgrade\r\n"), "{seen}");
    assert!(!seen.contains("keep-alive"), "{seen}");
}

#[test]
fn unsolicited_101_is_a_bad_gateway() {
    let up = Upstream::start(
        "up",
        Behavior::raw(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
        ),
    );
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 502);
}

#[test]
fn connect_is_refused_with_501() {
    let p = Proxy::start(&ProxyConfig::new(&app(&["http://127.0.0.1:9".into()])));
    let mut c = Client::connect(p.addr());
    c.deadline(Duration::from_secs(10));
    let r = c.request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(r.status, 501);
}
