//! Every close of a terminated TLS connection sends close_notify first: an
//! OpenSSL client sees no `unexpected eof` after `Connection: close`, an idle
//! timeout, a read timeout (408), a graceful stop, an Upgrade tunnel that ends
//! and a terminating TCP route that ends; a rustls client reads a clean end
//! (`Ok(0)`, where a missing alert is an `UnexpectedEof` error). And a client's
//! own close_notify is a clean end while its request is upstream.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::openssl::{SClient, assert_clean};
use super::pki::{Opts, client_config, connect};
use super::{Site, certs_toml, start_with};
use crate::common::config::{lb_service, router};
use crate::common::scripted;
use crate::common::*;

const LIMIT: Duration = Duration::from_secs(10);
const CLOSE: &str = "GET /who HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";
const KEEP: &str = "GET /who HTTP/1.1\r\nHost: a.test\r\n\r\n";

/// whoami over TLS for every host, and the site's certificates.
fn whoami() -> String {
    format!(
        "{}[http.routers.r.tls]\n{}",
        router("r", "PathPrefix(`/`)", "whoami@internal"),
        certs_toml(true)
    )
}

fn start(edit: impl FnOnce(&mut EntryPoint)) -> (Site, Proxy) {
    let site = Site::new();
    let p = start_with(&site, &whoami(), |c| c.web(edit));
    (site, p)
}

#[test]
fn close_notify_after_connection_close() {
    let (_site, p) = start(|_| {});
    let mut c = SClient::start(p.addr(), &[]);
    c.send(CLOSE);
    let out = c.finish(LIMIT);
    assert!(out.contains("HTTP/1.1 200"), "{out}");
    assert_clean(&out, "Connection: close");
}

#[test]
fn close_notify_on_idle_timeout() {
    let (_site, p) = start(|ep| ep.idle_timeout = Some("1s".into()));
    let mut c = SClient::start(p.addr(), &[]);
    c.send(KEEP);
    assert!(c.wait_for("HTTP/1.1 200", LIMIT), "{}", c.output());
    let out = c.finish(LIMIT);
    assert_clean(&out, "idle timeout");
}

#[test]
fn close_notify_after_read_timeout_408() {
    let (_site, p) = start(|ep| ep.read_timeout = Some("1s".into()));
    let mut c = SClient::start(p.addr(), &[]);
    c.send("GET /who HTTP/1.1\r\nHost: a.test\r\n");
    let out = c.finish(LIMIT);
    assert!(out.contains("HTTP/1.1 408"), "{out}");
    assert_clean(&out, "408");
}

#[test]
fn close_notify_at_graceful_shutdown() {
    let (_site, mut p) = start(|_| {});
    let mut c = SClient::start(p.addr(), &[]);
    c.send(KEEP);
    assert!(c.wait_for("HTTP/1.1 200", LIMIT), "{}", c.output());
    p.signal(libc::SIGTERM);
    let out = c.finish(LIMIT);
    assert_clean(&out, "graceful shutdown");
    assert!(p.wait_exit(LIMIT).is_some(), "proxyd did not stop");
}

/// An upstream whose every connection gets `reply` and is closed.
fn one_shot_upstream(reply: &'static [u8]) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(reply);
        }
    });
    addr
}

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbye";

/// An Upgrade tunnel to an upstream that says "bye" and then `end`s (a close,
/// or a reset); the client, openssl, stays until the server closes.
fn tunnel_that_ends(end: Step) -> String {
    let up = Scripted::start(move |_, _| vec![scripted::send(SWITCH), end.clone()]);
    let dynamic = format!(
        "{}[http.routers.ws.tls]\n{}{}",
        router("ws", "PathPrefix(`/`)", "ws"),
        lb_service("ws", &[up.url()]),
        certs_toml(true)
    );
    let site = Site::new();
    let p = start_with(&site, &dynamic, |c| c);
    let mut c = SClient::start(p.addr(), &[]);
    c.send(
        "GET /chat HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    let out = c.finish(LIMIT);
    assert!(out.contains("HTTP/1.1 101") && out.contains("bye"), "{out}");
    out
}

#[test]
fn close_notify_when_an_upgrade_tunnel_ends() {
    assert_clean(&tunnel_that_ends(Step::Close), "Upgrade tunnel");
}

/// An upstream reset ends the whole tunnel (the client's direction is not left
/// waiting for the client), with close_notify.
#[test]
fn close_notify_when_an_upgrade_tunnel_is_reset_upstream() {
    let out = tunnel_that_ends(Step::Reset);
    assert_clean(&out, "Upgrade tunnel reset upstream");
}

#[test]
fn close_notify_when_a_terminating_tcp_route_ends() {
    let up = one_shot_upstream(b"220 hello, bye\r\n");
    let dynamic = format!(
        "[tcp.routers.t]\nrule = \"HostSNI(`a.test`)\"\nservice = \"t\"\n[tcp.routers.t.tls]\n\
         [tcp.services.t.loadBalancer]\n[[tcp.services.t.loadBalancer.servers]]\naddress = \"{up}\"\n{}",
        certs_toml(true)
    );
    let site = Site::new();
    let p = start_with(&site, &dynamic, |c| c);
    let c = SClient::start(p.addr(), &[]);
    let out = c.finish(LIMIT);
    assert!(out.contains("220 hello, bye"), "{out}");
    assert_clean(&out, "TCP route");
}

/// The TCP route's idle timeout (no byte either way for `idleTimeout`) ends it
/// while the upstream is still open.
#[test]
fn close_notify_when_a_terminating_tcp_route_idles_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(b"220 hello\r\n");
            open.push(s);
        }
    });
    let dynamic = format!(
        "[tcp.routers.t]\nrule = \"HostSNI(`a.test`)\"\nservice = \"t\"\n[tcp.routers.t.tls]\n\
         [tcp.services.t.loadBalancer]\n[[tcp.services.t.loadBalancer.servers]]\naddress = \"{up}\"\n{}",
        certs_toml(true)
    );
    let site = Site::new();
    let p = start_with(&site, &dynamic, |c| {
        c.web(|ep| ep.idle_timeout = Some("1s".into()))
    });
    let c = SClient::start(p.addr(), &[]);
    let out = c.finish(LIMIT);
    assert!(out.contains("220 hello"), "{out}");
    assert_clean(&out, "TCP route idle timeout");
}

/// rustls reports a close without close_notify as an `UnexpectedEof` error.
#[test]
fn close_notify_reads_as_a_clean_end_for_rustls() {
    let (_site, p) = start(|_| {});
    let mut s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    s.write_all(CLOSE.as_bytes()).unwrap();
    let mut out = Vec::new();
    let end = s.read_to_end(&mut out);
    assert!(
        end.is_ok(),
        "{end:?}: the server closed without close_notify"
    );
    assert!(out.starts_with(b"HTTP/1.1 200"));
    let mut more = [0u8; 1];
    assert_eq!(s.read(&mut more).unwrap(), 0, "a clean end reads as Ok(0)");
}

/// A client that sends close_notify (and keeps its socket open) while its request
/// waits on a slow upstream has left: the upstream work is abandoned (499) and the
/// connection closed, instead of waiting for the upstream.
#[test]
fn close_notify_from_the_client_ends_its_upstream_request() {
    let slow = Upstream::start(
        "slow",
        Behavior::fixed(200, b"late").delay(Duration::from_secs(8)),
    );
    let dynamic = format!(
        "{}[http.routers.r.tls]\n{}{}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[slow.url()]),
        certs_toml(true)
    );
    let site = Site::new();
    let p = start_with(&site, &dynamic, |c| c);
    let mut s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    s.write_all(KEEP.as_bytes()).unwrap();
    assert!(
        slow.wait_heads(1, LIMIT),
        "the request reached the upstream"
    );
    let t0 = Instant::now();
    s.conn.send_close_notify();
    s.flush().unwrap();
    while s.conn.wants_write() {
        s.conn.write_tls(&mut s.sock).unwrap();
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "the connection stayed open until the upstream answered"
    );
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(p.wait_log("status=499", LIMIT), "{}", p.log_text());
}
