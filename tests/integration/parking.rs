//! The worker's parking lot: keep-alive connections quiet for longer than the hold
//! time (50 ms) leave their task and wait in one epoll set per worker. They must
//! come back for their next request on either I/O driver, in numbers larger than
//! one `epoll_wait` batch, and leave no trace when the client goes away.

use std::time::Duration;

use crate::common::client::Client;
use crate::common::config::app;
use crate::common::*;
use crate::observe::{scrape_until, with_admin};

/// Well past the hold time: connections are parked after this.
const PARKED: Duration = Duration::from_millis(300);

fn open_and_park(p: &Proxy, n: usize) -> Vec<Client> {
    let mut clients: Vec<Client> = (0..n).map(|_| Client::connect(p.addr())).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.deadline(Duration::from_secs(20));
        let r = c.request(&format!("GET /first{i} HTTP/1.1\r\nHost: app.test\r\n\r\n"));
        assert_eq!(r.status, 200, "first request on connection {i}");
    }
    std::thread::sleep(PARKED);
    clients
}

/// More parked connections than one `epoll_wait` batch (64), all woken at once.
fn many_parked_connections_serve_again(driver: &str) {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()]))
        .arg("--io-driver")
        .arg(driver);
    let p = Proxy::start(&cfg);
    let mut clients = open_and_park(&p, 200);
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(format!("GET /again{i} HTTP/1.1\r\nHost: app.test\r\n\r\n").as_bytes());
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let r = c.read_response();
        assert_eq!(r.status, 200, "{driver}: second request on connection {i}");
        assert!(
            r.text().contains(&format!("GET /again{i} ")),
            "{}",
            r.text()
        );
    }
}

#[test]
fn many_parked_connections_serve_again_uring() {
    many_parked_connections_serve_again("auto");
}

#[test]
fn many_parked_connections_serve_again_epoll() {
    many_parked_connections_serve_again("epoll");
}

/// Quiet connections really wait in the lot (`proxyd_parked_connections`, so this
/// fails if they stayed in their tasks), and one whose client closes while parked
/// is closed here too: both gauges go back to zero (a leaked slot would also hold
/// up a graceful stop).
#[test]
fn client_closing_a_parked_connection_releases_it() {
    let up = Upstream::echo("up");
    let cfg = with_admin(
        ProxyConfig::new(&app(&[up.url()])),
        "[metrics.prometheus]\n",
    );
    let p = Proxy::start(&cfg);
    let open = "proxyd_open_connections{entrypoint=\"web\",protocol=\"TCP\"}";
    let parked = "proxyd_parked_connections";
    let clients = open_and_park(&p, 30);
    let all_parked =
        |t: &str| t.contains(&format!("{open} 30")) && t.contains(&format!("{parked} 30"));
    let text = scrape_until(&p, all_parked);
    assert!(all_parked(&text), "{text}");
    drop(clients);
    let none = |t: &str| t.contains(&format!("{open} 0")) && t.contains(&format!("{parked} 0"));
    let text = scrape_until(&p, none);
    assert!(none(&text), "{text}");
}

/// Bytes that arrive while parked, a request split across the wake-up, and a
/// half-sent head followed by a pause all reach the upstream intact.
#[test]
fn request_split_across_the_wake_up_is_read_whole() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let mut clients = open_and_park(&p, 1);
    let c = &mut clients[0];
    c.send(b"GET /split HTTP/1.1\r\nHo");
    std::thread::sleep(PARKED);
    c.send(b"st: app.test\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("GET /split "), "{}", r.text());
}

/// Regression for parking: a keep-alive connection quiet for longer than the hold
/// time leaves its task for the lot (the gauge says so: this fails if it stays in
/// its task), and serves the next request, pipelined ones included, on the same
/// connection and the same pooled upstream connection.
#[test]
fn quiet_keep_alive_connection_parks_and_serves_again() {
    let up = Upstream::echo("up");
    let mut cfg = with_admin(
        ProxyConfig::new(&app(&[up.url()])),
        "[metrics.prometheus]\n",
    );
    cfg.cores = Some(1);
    let p = Proxy::start(&cfg);
    let parked = |t: &str| t.contains("\nproxyd_parked_connections 1\n");
    let mut c = Client::connect(p.addr());
    c.deadline(Duration::from_secs(20));
    for i in 0..3 {
        let r = c.request(&format!("GET /park{i} HTTP/1.1\r\nHost: app.test\r\n\r\n"));
        assert_eq!(r.status, 200, "request {i}");
        assert!(r.text().contains(&format!("GET /park{i} ")), "{}", r.text());
        let text = scrape_until(&p, parked);
        assert!(
            parked(&text),
            "connection not parked after request {i}:\n{text}"
        );
    }
    c.send(b"GET /a HTTP/1.1\r\nHost: app.test\r\n\r\nGET /b HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert!(c.read_response().text().contains("GET /a "));
    assert!(c.read_response().text().contains("GET /b "));
    assert_eq!(
        up.connections(),
        1,
        "the upstream connection is pooled across parks"
    );
}
