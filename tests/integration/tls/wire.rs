//! The accept path under odd input and over time: HTTP→HTTPS redirect, a
//! certificate replaced on disk, and malformed or truncated ClientHellos.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::pki::{Opts, client_config, connect, served_cert};
use super::{Site, certs_toml, start_with};
use crate::common::config::router;
use crate::common::*;

fn whoami_tls() -> String {
    format!(
        "{}[http.routers.r.tls]\n",
        router("r", "PathPrefix(`/`)", "whoami@internal")
    )
}

#[test]
fn http_is_redirected_to_https() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", whoami_tls(), certs_toml(true)),
        |c| {
            let mut secure = EntryPoint::new("websecure");
            secure.address = format!("127.0.0.1:{port}");
            c.web(|ep| {
                ep.extra =
                    "[entryPoints.web.http.redirections.entryPoint]\nto = \"websecure\"\n".into();
            })
            .entry_point(secure)
        },
    );
    let resp = client::request(
        p.addr(),
        "GET /a/b?x=1 HTTP/1.1\r\nHost: a.test:8080\r\n\r\n",
    );
    assert_eq!(resp.status, 301);
    assert_eq!(
        resp.header("Location"),
        Some(&*format!("https://a.test:{port}/a/b?x=1"))
    );
    let resp = client::request(
        p.addr(),
        "POST /f HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(resp.status, 308, "non-GET keeps its method");
    let s = connect(
        p.addr_of("websecure"),
        "a.test",
        client_config(Opts::default()),
    )
    .unwrap();
    assert_eq!(served_cert(&s), site.exact.der);
}

#[test]
fn a_certificate_replaced_on_disk_is_served_without_restart() {
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", whoami_tls(), certs_toml(true)),
        |c| c.watched(Some("50ms")),
    );
    let any = || client_config(Opts::default());
    let mut before = connect(p.addr(), "a.test", any()).unwrap();
    assert_eq!(served_cert(&before), site.exact.der);
    let next = site.ca.leaf(&["a.test"]);
    let dir = p.dynamic_dir();
    // Atomic replacement, key first: a reload between the two sees a mismatch,
    // is refused, and the next event brings the pair in.
    for (name, body) in [("exact.key", &next.key_pem), ("exact.crt", &next.cert_pem)] {
        std::fs::write(dir.join(format!("{name}.tmp")), body).unwrap();
        std::fs::rename(dir.join(format!("{name}.tmp")), dir.join(name)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = connect(p.addr(), "a.test", any()).unwrap();
        if served_cert(&s) == next.der {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new certificate not served; log:\n{}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The connection made before the swap still works.
    write!(
        before,
        "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = before.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

#[test]
fn a_bad_key_pair_is_a_config_error() {
    let site = Site::new();
    let dynamic = "[[tls.certificates]]\ncertFile = \"exact.crt\"\nkeyFile = \"wild.key\"\n";
    let mut cfg = ProxyConfig::new(dynamic);
    cfg.dynamic.extend(site.files());
    let (_dir, file) = cfg.write();
    let out = std::process::Command::new(crate::common::proxy::BIN)
        .arg("--config")
        .arg(&file)
        .arg("check")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("dynamic.toml") && text.contains("tls.certificates[0]"),
        "{text}"
    );
    assert!(text.contains("do not form a pair"), "{text}");
}

/// Sends `bytes`, then expects proxyd to close within `limit`.
fn closed_after(addr: std::net::SocketAddr, bytes: &[u8], half_close: bool, limit: Duration) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(limit + Duration::from_secs(2)))
        .unwrap();
    let _ = s.write_all(bytes);
    if half_close {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    loop {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert!(
        started.elapsed() < limit + Duration::from_secs(1),
        "{bytes:?} held the connection"
    );
}

#[test]
fn malformed_and_truncated_hellos_do_not_hurt_the_worker() {
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", whoami_tls(), certs_toml(true)),
        |c| c.web(|ep| ep.read_timeout = Some("1s".into())),
    );
    let addr = p.addr();
    let fast = Duration::from_millis(500);
    // Not a ClientHello, bad versions and lengths: closed at once.
    closed_after(addr, &[22, 3, 1, 0, 5, 2, 0, 0, 1, 0], false, fast);
    closed_after(addr, &[22, 9, 9], false, fast);
    closed_after(addr, &[22, 3, 1, 0, 0], false, fast);
    closed_after(addr, &[22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff], false, fast);
    // A hello whose inner lengths lie.
    let mut lying = vec![22, 3, 1, 0, 60, 1, 0, 0, 56, 3, 3];
    lying.extend_from_slice(&[0u8; 32]);
    lying.extend_from_slice(&[0xff; 17]);
    closed_after(addr, &lying, false, fast);
    // Truncated then closed; truncated then silent (readTimeout bounds the peek).
    closed_after(addr, &[22, 3, 1, 2, 0, 1, 0, 1], true, fast);
    closed_after(
        addr,
        &[22, 3, 1, 2, 0, 1, 0, 1],
        false,
        Duration::from_secs(1),
    );
    // Random garbage behind a handshake byte.
    let mut x: u32 = 0x9e3779b9;
    for _ in 0..30 {
        let mut bytes = vec![22u8, 3, 1];
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes.push(x as u8);
        }
        closed_after(addr, &bytes, true, Duration::from_secs(1));
    }
    // The worker still serves TLS and plaintext.
    let mut s = connect(addr, "a.test", client_config(Opts::default())).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert_eq!(
        client::get(addr, "a.test", "/").status,
        404,
        "plaintext has no TLS routers"
    );
}
