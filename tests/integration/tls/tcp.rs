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

/// A TLS echo upstream on a std thread: each connection echoes bytes until EOF.
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
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in l.incoming().flatten() {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(cfg).unwrap();
                let mut s = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn passthrough_reaches_the_tls_upstream_untouched() {
    let site = Site::new();
    let up_leaf = site.ca.leaf(&["up.test"]);
    let up = tls_upstream(&up_leaf);
    let dynamic = format!(
        "[tcp.routers.pt]\nrule = \"HostSNI(`up.test`)\"\nservice = \"pt\"\n\
         [tcp.routers.pt.tls]\npassthrough = true\n\
         [tcp.services.pt.loadBalancer]\n[[tcp.services.pt.loadBalancer.servers]]\naddress = \"{up}\"\n\
         {}",
        certs_toml(true)
    );
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
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    s.write_all(&payload).unwrap();
    let mut back = vec![0u8; payload.len()];
    s.read_exact(&mut back).unwrap();
    assert!(back == payload, "bytes changed on the way");
    // Other names are still terminated by proxyd.
    let s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    assert_eq!(served_cert(&s), site.exact.der);
}

/// A plaintext upstream that speaks first, echoes lines, and says `bye` at EOF.
fn banner_upstream() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = tcp.try_clone().unwrap();
                w.write_all(b"220 hello\r\n").unwrap();
                let mut r = BufReader::new(tcp);
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                    w.write_all(line.as_bytes()).unwrap();
                    line.clear();
                }
                let _ = w.write_all(b"bye\r\n");
            });
        }
    });
    addr
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

/// A plaintext echo upstream: each connection echoes bytes until EOF.
fn echo_upstream() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = tcp.try_clone().unwrap();
                let mut r = tcp;
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 || w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A TCP router with `tls` but no passthrough: proxyd terminates TLS with the
/// certificate for the SNI and relays the decrypted bytes to a plaintext upstream.
#[test]
fn tls_terminated_tcp_route_relays_plaintext_to_the_upstream() {
    let site = Site::new();
    let up = echo_upstream();
    let dynamic = format!(
        "[tcp.routers.db]\nrule = \"HostSNI(`a.test`)\"\nservice = \"db\"\n\
         [tcp.routers.db.tls]\n\
         [tcp.services.db.loadBalancer]\n[[tcp.services.db.loadBalancer.servers]]\naddress = \"{up}\"\n\
         {}",
        certs_toml(true)
    );
    let p = start_with(&site, &dynamic, |c| c);
    let verified = client_config(Opts {
        roots: Some(site.ca.roots()),
        ..Opts::default()
    });
    let mut s = connect(p.addr(), "a.test", verified).expect("proxyd's cert for a.test");
    assert_eq!(served_cert(&s), site.exact.der, "terminated by proxyd");
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    s.write_all(&payload).unwrap();
    let mut back = vec![0u8; payload.len()];
    s.read_exact(&mut back).unwrap();
    assert!(back == payload, "bytes changed on the way");
}
