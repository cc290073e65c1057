//! Process lifecycle: workers and listeners, io drivers, refused starts,
//! SIGTERM drain, CLI basics.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::client::get;
use crate::common::config::app;
use crate::common::proxy::run_to_exit;
use crate::common::*;

/// LISTEN (`0A`) sockets on 127.0.0.1:`port` in /proc/net/tcp.
fn listen_sockets(port: u16) -> usize {
    let tcp = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let want = format!("0100007F:{port:04X}");
    tcp.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1] == want && f[3] == "0A"
        })
        .count()
}

#[test]
fn cores_2_binds_one_listener_per_worker() {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if cpus < 2 {
        // CI machines have 2 CPUs: there a missing one is a failure, not a skip.
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("needs 2 CPUs, have {cpus}: CI must run this test");
        }
        eprintln!("SKIPPED: needs 2 CPUs, have {cpus}; CI runs this test");
        return;
    }
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()])).arg("--cores").arg("2");
    let p = Proxy::start(&cfg);
    let lines: Vec<_> = p
        .listening()
        .into_iter()
        .filter(|(ep, _, _)| ep == "web")
        .collect();
    assert_eq!(lines.len(), 2, "listening lines: {lines:?}");
    let mut workers: Vec<usize> = lines.iter().map(|l| l.2).collect();
    workers.sort();
    assert_eq!(workers, vec![0, 1]);
    assert_eq!(
        lines[0].1, lines[1].1,
        "both workers listen on the same address"
    );
    assert!(p.log_contains("ready workers=2"), "{}", p.log_text());
    assert_eq!(
        listen_sockets(p.addr().port()),
        2,
        "SO_REUSEPORT listeners in /proc/net/tcp"
    );
    for i in 0..6 {
        assert_eq!(get(p.addr(), "app.test", &format!("/{i}")).status, 200);
    }
}

#[test]
fn cores_1_binds_one_listener() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    assert!(p.log_contains("ready workers=1"), "{}", p.log_text());
    assert_eq!(listen_sockets(p.addr().port()), 1);
}

#[test]
fn io_driver_epoll_serves_requests() {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()]))
        .arg("--io-driver")
        .arg("epoll");
    let p = Proxy::start(&cfg);
    assert!(p.log_contains("driver=epoll"), "{}", p.log_text());
    let mut c = Client::connect(p.addr());
    for i in 0..3 {
        let r = c.request(&format!("GET /e{i} HTTP/1.1\r\nHost: app.test\r\n\r\n"));
        assert_eq!(r.status, 200);
    }
    assert_eq!(up.requests().len(), 3);
}

#[test]
fn io_driver_auto_reports_a_driver() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    assert!(
        p.log_contains("driver=uring") || p.log_contains("driver=epoll"),
        "{}",
        p.log_text()
    );
    assert_eq!(get(p.addr(), "app.test", "/").status, 200);
}

#[test]
fn duplicate_instance_on_same_port_refused() {
    let up = Upstream::echo("up");
    let first = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    let port = first.addr().port();
    let cfg =
        ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.address = format!("127.0.0.1:{port}"));
    let mut second = Proxy::spawn(&cfg);
    let status = second
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("second instance kept running; log:\n{}", second.log_text()));
    assert!(!status.success(), "second instance exited {status}");
    let log = second.log_text().to_ascii_lowercase();
    assert!(
        log.contains("already in use") || log.contains("address in use"),
        "no clear error: {log}"
    );
    // The first instance is unaffected and still owns all the traffic.
    assert_eq!(listen_sockets(port), 1);
    for _ in 0..5 {
        assert_eq!(get(first.addr(), "app.test", "/").status, 200);
    }
}

#[test]
fn sigterm_drains_in_flight_request_then_exits_0() {
    let up = Upstream::start("slow", Behavior::echo().delay(Duration::from_secs(2)));
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.grace_timeout = Some("10s".into()));
    let mut p = Proxy::start(&cfg);
    let addr = p.addr();
    // An idle keep-alive connection, opened and used before the signal.
    let mut idle = Client::connect(addr);
    idle.send(b"GET /warm HTTP/1.1\r\nHost: app.test\r\n\r\n");
    idle.deadline(Duration::from_secs(10));
    assert_eq!(idle.read_response().status, 200);

    let mut inflight = Client::connect(addr);
    inflight.send(b"GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert!(
        up.wait_requests(2, Duration::from_secs(5)),
        "slow request never reached upstream"
    );
    let t_signal = Instant::now();
    p.signal(libc::SIGTERM);

    // New connections are refused soon after the signal.
    let refused = poll_until(
        Duration::from_millis(1500),
        Duration::from_millis(20),
        || match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(_) => Some(()),
            Ok(_) => None,
        },
    );
    assert!(
        refused.is_some(),
        "listener still accepting 1.5 s after SIGTERM"
    );

    // Idle keep-alive connections are closed.
    idle.closed_within(Duration::from_secs(3))
        .expect("idle keep-alive closed on SIGTERM");

    // The in-flight request completes normally.
    inflight.deadline(Duration::from_secs(10));
    let r = inflight.read_response();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("request: GET /slow"), "{}", r.text());

    let status = p
        .wait_exit(Duration::from_secs(10))
        .expect("proxyd did not exit after drain");
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        p.log_text()
    );
    assert!(t_signal.elapsed() < Duration::from_secs(10));
    assert_connect_refused(addr);
}

#[test]
fn sigterm_grace_timeout_bounds_shutdown() {
    let up = Upstream::start("stuck", Behavior::echo().delay(Duration::from_secs(30)));
    let cfg = ProxyConfig::new(&app(&[up.url()])).web(|ep| ep.grace_timeout = Some("1s".into()));
    let mut p = Proxy::start(&cfg);
    let mut c = Client::connect(p.addr());
    c.send(b"GET /stuck HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert!(up.wait_requests(1, Duration::from_secs(5)));
    let t0 = Instant::now();
    p.signal(libc::SIGTERM);
    let status = p
        .wait_exit(Duration::from_secs(8))
        .expect("proxyd still running long after graceTimeOut");
    assert!(status.success(), "exit status {status}");
    assert!(
        t0.elapsed() >= Duration::from_millis(800),
        "exited before graceTimeOut"
    );
}

#[test]
fn sigterm_idle_proxy_exits_promptly() {
    let up = Upstream::echo("up");
    let mut p = Proxy::start(&ProxyConfig::new(&app(&[up.url()])));
    assert_eq!(get(p.addr(), "app.test", "/").status, 200);
    p.signal(libc::SIGTERM);
    let status = p
        .wait_exit(Duration::from_secs(5))
        .expect("idle proxyd did not exit");
    assert!(status.success(), "exit status {status}");
}

fn assert_connect_refused(addr: SocketAddr) {
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "{addr} still accepting after exit"
    );
}

/// Starts proxyd with `--cores n` and expects a refusal that mentions cores.
fn assert_cores_refused(n: &str) {
    let up = Upstream::echo("up");
    let cfg = ProxyConfig::new(&app(&[up.url()]));
    let (_dir, file) = cfg.write();
    let out = run_to_exit(
        &["--config", file.to_str().unwrap(), "--cores", n],
        None,
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    assert!(err.contains("cores"), "stderr should mention cores: {err}");
}

#[test]
fn cli_cores_0_refused() {
    assert_cores_refused("0");
}

#[test]
fn cli_more_cores_than_machine_refused() {
    assert_cores_refused("100000");
}

#[test]
fn cli_version() {
    let out = run_to_exit(&["--version"], None, Duration::from_secs(10));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}
