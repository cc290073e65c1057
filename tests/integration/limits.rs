//! Connection limits: an entry point's `maxConnections` (a proxyd extension)
//! refuses the connection over it with a 503 and frees a place as soon as a
//! connection closes; at the process's descriptor limit, failed accepts are
//! logged a few times, not hundreds, and serving resumes when clients leave.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::client::{Client, get};
use crate::common::config::app;
use crate::common::*;
use crate::observe::{scrape_until, with_admin};

const LIMIT: usize = 5;

fn request(i: usize) -> String {
    format!("GET /{i} HTTP/1.1\r\nHost: app.test\r\n\r\n")
}

/// Everything the proxy sends on a fresh connection before it closes it.
fn read_until_closed(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let r = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    r.unwrap_or_else(|e| panic!("not closed ({e}); read so far: {text:?}"));
    text
}

/// One request on a new connection: `Some(status)`, `None` if refused or closed.
fn try_request(addr: SocketAddr) -> Option<u16> {
    let mut c = Client::try_connect(addr).ok()?;
    c.deadline(Duration::from_secs(5));
    c.try_send(request(99).as_bytes()).ok()?;
    let status = c.try_read_response("GET").ok()?.status;
    (status == 200).then_some(status)
}

/// Five idle keep-alive connections fill the entry point; the sixth reads a 503
/// and a close; when one of the five leaves, the next connection is served.
#[test]
fn max_connections_refuses_with_503_and_frees_the_place_on_close() {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()]))
        // Right after `address`: the entry point has no sub-table before it.
        .web(|ep| ep.extra = format!("maxConnections = {LIMIT}\n"));
    let p = Proxy::start(&with_admin(cfg, "[metrics.prometheus]\n"));
    let mut held: Vec<Client> = (0..LIMIT)
        .map(|i| {
            let mut c = Client::connect(p.addr());
            c.deadline(Duration::from_secs(10));
            assert_eq!(c.request(&request(i)).status, 200, "connection {i}");
            c
        })
        .collect();
    let refused = read_until_closed(p.addr());
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused:?}");
    assert!(refused.contains("connection: close"), "{refused:?}");
    assert!(p.wait_log(
        "connection refused: maxConnections=5",
        Duration::from_secs(5)
    ));
    let counted = "proxyd_entrypoint_refused_connections_total{entrypoint=\"web\"} 1";
    let text = scrape_until(&p, |t| t.contains(counted));
    assert!(text.contains(counted), "{text}");
    // The held connections still work, and one leaving frees its place.
    assert_eq!(held[0].request(&request(10)).status, 200);
    drop(held.pop());
    let served = poll_until(Duration::from_secs(5), Duration::from_millis(5), || {
        try_request(p.addr())
    });
    assert_eq!(served, Some(200), "a place freed when a connection closed");
}

/// With 64 descriptors, idle connections exhaust proxyd's table: accepts fail,
/// but the warning is rate-limited (one line a second, with a count) instead of
/// one per failure, and closing the connections lets a new request through.
#[test]
fn out_of_descriptors_logs_rarely_and_recovers_when_connections_close() {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()])).arg("--cores").arg("1");
    let p = Proxy::start_with_nofile(&cfg, 64);
    // The kernel completes handshakes for the backlog, so connecting never fails;
    // the connections proxyd does accept wait for a first byte, holding a descriptor.
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(TcpStream::connect(p.addr()).expect("connect"));
    }
    let needle = "accept failed";
    assert!(
        p.wait_log(needle, Duration::from_secs(10)),
        "no accept failure"
    );
    let first = p.log_count(needle);
    // Unlimited, four accept tasks each failing every 20 ms would log ~400 lines
    // in these two seconds.
    let flood = p.wait_log_count(needle, first + 6, Duration::from_secs(2));
    assert!(!flood, "{} accept-failure lines", p.log_count(needle));
    assert!(
        p.log_lines()
            .iter()
            .any(|l| l.contains(needle) && !l.contains("; 0 more since")),
        "later lines count the failures left out"
    );
    drop(clients);
    // Waits in the backlog, if need be, until a close frees a descriptor.
    let start = Instant::now();
    assert_eq!(get(p.addr(), "app.test", "/after").status, 200);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "served again after {took:?}");
}
