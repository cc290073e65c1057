//! Load-balancer strategies (`loadBalancer.strategy`) on real requests: `hrw`
//! keeps a client on one server, `p2c` sends new requests away from a server
//! busy with one, `leasttime` sends them to the server that answers sooner,
//! and an unknown strategy is refused with its key.

use std::time::{Duration, Instant};

use crate::common::config::{lb_service_with, router};
use crate::common::scripted::{Scripted, Step};
use crate::common::*;

fn service(strategy: &str, urls: &[String]) -> String {
    format!(
        "{}{}",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with("app", urls, &format!("strategy = \"{strategy}\"\n")),
    )
}

fn get(p: &Proxy) -> u16 {
    client::get(p.addr(), "app.test", "/").status
}

#[test]
fn hrw_keeps_one_client_on_one_server() {
    let ups: Vec<Upstream> = (0..3).map(|i| Upstream::echo(&format!("u{i}"))).collect();
    let urls: Vec<String> = ups.iter().map(Upstream::url).collect();
    let p = Proxy::start(&ProxyConfig::new(&service("hrw", &urls)));
    for _ in 0..12 {
        assert_eq!(get(&p), 200);
    }
    let counts: Vec<usize> = ups.iter().map(|u| u.requests().len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 12);
    assert!(
        counts.contains(&12),
        "one server for one client: {counts:?}"
    );
}

#[test]
fn p2c_sends_new_requests_away_from_a_busy_server() {
    let slow = Scripted::start(|_, _| vec![Step::Hold(Duration::from_secs(5))]);
    let fast = Upstream::echo("fast");
    let p = Proxy::start(&ProxyConfig::new(&service(
        "p2c",
        &[slow.url(), fast.url()],
    )));
    // Requests until one is held by the slow server (p2c draws at random
    // while both are idle).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut held = Vec::new();
    while slow.connections() == 0 {
        assert!(
            Instant::now() < deadline,
            "the slow server never got a request"
        );
        let addr = p.addr();
        held.push(std::thread::spawn(move || hold_request(addr)));
        let settle = Instant::now() + Duration::from_millis(200);
        while slow.connections() == 0 && Instant::now() < settle {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let before = fast.requests().len();
    for _ in 0..20 {
        assert_eq!(get(&p), 200);
    }
    assert_eq!(
        fast.requests().len(),
        before + 20,
        "every new request went to the idle server"
    );
    assert_eq!(slow.connections(), 1);
    drop(held);
}

#[test]
fn leasttime_sends_requests_to_the_server_that_answers_sooner() {
    let slow = Upstream::start(
        "slow",
        Behavior {
            delay: Duration::from_millis(150),
            ..Behavior::echo()
        },
    );
    let fast = Upstream::echo("fast");
    // The slow server first: it wins the first turn, while neither has answered.
    let p = Proxy::start(&ProxyConfig::new(&service(
        "leasttime",
        &[slow.url(), fast.url()],
    )));
    for _ in 0..30 {
        assert_eq!(get(&p), 200);
    }
    // Traefik's scores: the first request goes to the slow server by turns
    // (both untimed, score 0); from then on its 150 ms average loses to the
    // fast server's (a few ms at most), one request at a time. One more is
    // allowed for a loaded machine; wrr or p2c would give it about 15.
    let slow_share = slow.requests().len();
    assert_eq!(slow_share + fast.requests().len(), 30);
    assert!(
        (1..=2).contains(&slow_share),
        "the slow server got {slow_share} of 30"
    );
}

/// A request whose answer nobody waits for: read until the proxy ends it.
fn hold_request(addr: std::net::SocketAddr) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
}

#[test]
fn unknown_strategies_are_refused_with_their_key() {
    for (strategy, why) in [
        ("random", "unknown strategy"),
        ("LeastTime", "unknown strategy"),
    ] {
        let (dir, file) =
            ProxyConfig::new(&service(strategy, &["http://127.0.0.1:9".into()])).write();
        let out = proxy::run_to_exit(
            &["check", "--config", file.to_str().unwrap()],
            None,
            Duration::from_secs(20),
        );
        let text = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{strategy}: {text}");
        assert!(
            text.contains("loadBalancer.strategy") && text.contains(why),
            "{strategy}: {text}"
        );
        drop(dir);
    }
}
