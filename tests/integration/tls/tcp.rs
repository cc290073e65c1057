//! TCP routes: TLS passthrough by SNI to a TLS upstream (the client verifies the
//! upstream's certificate, not proxyd's), TLS terminated by proxyd in front of a
//! plaintext upstream, and a plaintext ``HostSNI(`*`)`` route to a
//! server-speaks-first upstream, with half-close.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::pki::{Leaf, Opts, client_config, connect, served_cert};
use super::{Site, certs_toml, start_with};
use crate::common::*;

/// A listener on 127.0.0.1 whose every connection is handled on its own thread.
fn listen(handle: impl Fn(TcpStream) + Clone + Send + 'static) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in l.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || handle(tcp));
        }
    });
    addr
}

/// Echoes bytes until EOF.
fn echo(mut s: impl Read + Write) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 || s.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// A TLS echo upstream: each connection echoes bytes until EOF.
fn tls_upstream(leaf: &Leaf) -> std::net::SocketAddr {
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der.clone()], leaf.key_der())
    .unwrap();
    let cfg = Arc::new(cfg);
    listen(move |tcp| {
        let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
        echo(rustls::StreamOwned::new(conn, tcp));
    })
}

/// A TCP router `name` for SNI `sni` with the given `[tcp.routers.NAME.tls]` body,
/// to `up`, plus the site's certificates.
fn tls_tcp_route(name: &str, sni: &str, tls: &str, up: std::net::SocketAddr) -> String {
    format!(
        "[tcp.routers.{name}]\nrule = \"HostSNI(`{sni}`)\"\nservice = \"{name}\"\n\
         [tcp.routers.{name}.tls]\n{tls}\
         [tcp.services.{name}.loadBalancer]\n[[tcp.services.{name}.loadBalancer.servers]]\naddress = \"{up}\"\n\
         {}",
        certs_toml(true)
    )
}

/// Sends `len` patterned bytes and expects them back unchanged.
fn assert_echoes(s: &mut (impl Read + Write), len: u32) {
    let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    s.write_all(&payload).unwrap();
    let mut back = vec![0u8; payload.len()];
    s.read_exact(&mut back).unwrap();
    assert!(back == payload, "bytes changed on the way");
}

#[test]
fn passthrough_reaches_the_tls_upstream_untouched() {
    let site = Site::new();
    let up_leaf = site.ca.leaf(&["up.test"]);
    let up = tls_upstream(&up_leaf);
    let dynamic = tls_tcp_route("pt", "up.test", "passthrough = true\n", up);
    let p = start_with(&site, &dynamic, |c| c);
    let verified = client_config(Opts {
        roots: Some(site.ca.roots()),
        ..Opts::default()
    });
    let mut s = connect(p.addr(), "up.test", verified).expect("upstream's cert verifies");
    assert_eq!(
        served_cert(&s),
        up_leaf.der,
        "the upstream's certificate, not proxyd's"
    );
    assert_echoes(&mut s, 200_000);
    // Other names are still terminated by proxyd.
    let s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    assert_eq!(served_cert(&s), site.exact.der);
}

/// A plaintext upstream that speaks first, echoes lines, and says `bye` at EOF.
fn banner_upstream() -> std::net::SocketAddr {
    listen(|tcp| {
        let mut w = tcp.try_clone().unwrap();
        w.write_all(b"220 hello\r\n").unwrap();
        let mut r = BufReader::new(tcp);
        let mut line = String::new();
        while r.read_line(&mut line).is_ok_and(|n| n > 0) {
            w.write_all(line.as_bytes()).unwrap();
            line.clear();
        }
        let _ = w.write_all(b"bye\r\n");
    })
}

#[test]
fn plaintext_tcp_route_with_server_first_and_half_close() {
    let up = banner_upstream();
    let dynamic = format!(
        "[tcp.routers.smtp]\nrule = \"HostSNI(`*`)\"\nservice = \"smtp\"\n\
         [tcp.services.smtp.loadBalancer]\n[[tcp.services.smtp.loadBalancer.servers]]\naddress = \"{up}\"\n"
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let tcp = TcpStream::connect(p.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(tcp.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(
        line, "220 hello\r\n",
        "the server spoke first through proxyd"
    );
    (&tcp).write_all(b"EHLO x\r\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "EHLO x\r\n");
    // Half-close: the upstream sees EOF and still gets its last words out.
    tcp.shutdown(Shutdown::Write).unwrap();
    let mut rest = String::new();
    r.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "bye\r\n");
}

/// A TCP router with `tls` but no passthrough: proxyd terminates TLS with the
/// certificate for the SNI and relays the decrypted bytes to a plaintext upstream.
#[test]
fn tls_terminated_tcp_route_relays_plaintext_to_the_upstream() {
    let site = Site::new();
    let up = listen(echo);
    let dynamic = tls_tcp_route("db", "a.test", "", up);
    let p = start_with(&site, &dynamic, |c| c);
    let verified = client_config(Opts {
        roots: Some(site.ca.roots()),
        ..Opts::default()
    });
    let mut s = connect(p.addr(), "a.test", verified).expect("proxyd's cert for a.test");
    assert_eq!(served_cert(&s), site.exact.der, "terminated by proxyd");
    assert_echoes(&mut s, 100_000);
}

/// A TCP route is closed after `idleTimeout` without traffic in either direction,
/// and kept open while bytes keep flowing (each read and write counts as activity).
#[test]
fn tcp_route_idle_timeout_counts_traffic_as_activity() {
    let up = listen(echo);
    let dynamic = format!(
        "[tcp.routers.raw]\nrule = \"HostSNI(`*`)\"\nservice = \"raw\"\n\
         [tcp.services.raw.loadBalancer]\n[[tcp.services.raw.loadBalancer.servers]]\naddress = \"{up}\"\n"
    );
    let cfg = ProxyConfig::new(&dynamic).web(|ep| ep.idle_timeout = Some("1s".into()));
    let p = Proxy::start(&cfg);
    let mut busy = TcpStream::connect(p.addr()).unwrap();
    busy.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // 2.4 s of traffic every 300 ms: well past the 1 s idle timeout.
    for i in 0..8u8 {
        busy.write_all(&[i]).unwrap();
        let mut b = [0u8; 1];
        busy.read_exact(&mut b).unwrap();
        assert_eq!(b[0], i, "echoed while active");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Then quiet: closed by proxyd within the timeout plus its watchdog tick.
    let start = std::time::Instant::now();
    let mut b = [0u8; 1];
    let n = busy.read(&mut b).expect("closed, not timed out");
    assert_eq!(n, 0, "EOF after idleTimeout");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}
