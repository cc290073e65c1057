//! 50 reloads under continuous traffic on two workers: keep-alive clients
//! (connected before the first reload) and connection-per-request clients must see
//! no failure, no reset, and never an older config once the newer one is
//! published. Everything is bounded by request count and time.

use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{REFUSED, RELOADED, respond, wait_generation, write_renamed};
use crate::common::client::get;
use crate::common::config::lb_service;
use crate::common::*;

const RELOADS: usize = 50;
const KEEP_ALIVE_CLIENTS: usize = 3;
const CLOSE_CLIENTS: usize = 2;
/// Per client: an upper bound on the work, whatever the timing.
const MAX_REQUESTS: usize = 20_000;
const TEST_LIMIT: Duration = Duration::from_secs(240);
/// Extra routers `x0`..`x5`; each version has a different subset.
const EXTRAS: usize = 6;

/// Version `v` of the dynamic config: `gen.test` answers `v=<v>`; `up.test`
/// proxies to an upstream (never changes); extra routers and services come and go.
fn config(v: usize, upstream: &str) -> String {
    let mut s = respond("gen", "gen.test", &format!("v={v}"));
    s.push_str(&crate::common::config::router(
        "up",
        "Host(`up.test`)",
        "up",
    ));
    s.push_str(&lb_service("up", &[upstream.to_string()]));
    for k in (0..EXTRAS).filter(|k| extra_present(v, *k)) {
        let _ = write!(
            s,
            "{}",
            respond(&format!("x{k}"), &format!("x{k}.test"), "x")
        );
    }
    s
}

fn extra_present(v: usize, k: usize) -> bool {
    !(v + k).is_multiple_of(3)
}

#[derive(Default)]
struct Shared {
    /// Version every request sent from now on must see at least.
    min_version: AtomicUsize,
    stop: AtomicBool,
    requests: AtomicUsize,
    resets: AtomicUsize,
    failures: Mutex<Vec<String>>,
    /// Per keep-alive client: highest version seen.
    seen: Mutex<Vec<usize>>,
}

impl Shared {
    fn fail(&self, who: &str, what: String) {
        self.failures.lock().unwrap().push(format!("{who}: {what}"));
    }
}

/// One client thread. `keep_alive` clients use `conn` for every request and never
/// reconnect; the others open a connection per request.
fn client(id: usize, addr: std::net::SocketAddr, conn: Option<Client>, sh: Arc<Shared>) {
    let who = format!("client {id}");
    let mut conn = conn;
    let started = Instant::now();
    for i in 0..MAX_REQUESTS {
        if sh.stop.load(Ordering::SeqCst) || started.elapsed() > TEST_LIMIT {
            return;
        }
        let host = if i % 2 == 0 { "gen.test" } else { "up.test" };
        let keep_alive = conn.is_some();
        let close = if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        };
        let req = format!("GET /r{i} HTTP/1.1\r\nHost: {host}\r\n{close}\r\n");
        // Read before sending: a version published before this point must be seen.
        let min = sh.min_version.load(Ordering::SeqCst);
        let mut fresh;
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Client::try_connect(addr) {
                Ok(c) => {
                    fresh = c;
                    &mut fresh
                }
                Err(e) => {
                    record_io(&sh, &who, "connect", &e);
                    continue;
                }
            },
        };
        c.deadline(Duration::from_secs(10));
        let res = c
            .try_send(req.as_bytes())
            .and_then(|()| c.try_read_response("GET"));
        sh.requests.fetch_add(1, Ordering::Relaxed);
        let r = match res {
            Ok(r) => r,
            Err(e) => {
                record_io(&sh, &who, &format!("request {i} ({host})"), &e);
                if keep_alive {
                    return; // A broken keep-alive connection ends this client.
                }
                continue;
            }
        };
        if r.status != 200 {
            sh.fail(&who, format!("request {i} ({host}): status {}", r.status));
            continue;
        }
        if host == "gen.test" {
            let v: usize = r
                .text()
                .strip_prefix("v=")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if v < min {
                sh.fail(
                    &who,
                    format!("request {i}: served v={v} after v={min} was published"),
                );
            }
            if keep_alive {
                let mut seen = sh.seen.lock().unwrap();
                seen[id] = seen[id].max(v);
            }
        } else if r.upstream().as_deref() != Some("up") {
            sh.fail(
                &who,
                format!("request {i}: not from the upstream: {:?}", r.text()),
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn record_io(sh: &Shared, who: &str, what: &str, e: &io::Error) {
    use io::ErrorKind::*;
    if matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe) {
        sh.resets.fetch_add(1, Ordering::SeqCst);
    }
    sh.fail(who, format!("{what}: {e}"));
}

#[test]
fn fifty_reloads_under_load_fail_nothing() {
    let up = Upstream::echo("up");
    let mut cfg = ProxyConfig::new(&config(0, &up.url())).watched(None);
    cfg.cores = Some(2);
    let p = Proxy::start(&cfg);
    let addr = p.addr();
    let sh = Arc::new(Shared::default());
    *sh.seen.lock().unwrap() = vec![0; KEEP_ALIVE_CLIENTS];

    let mut threads = Vec::new();
    for id in 0..KEEP_ALIVE_CLIENTS + CLOSE_CLIENTS {
        // Keep-alive connections exist and are served before the first reload.
        let conn = (id < KEEP_ALIVE_CLIENTS).then(|| {
            let mut c = Client::connect(addr);
            let r = c.request("GET / HTTP/1.1\r\nHost: gen.test\r\n\r\n");
            assert_eq!(r.text(), "v=0");
            c
        });
        let sh = sh.clone();
        threads.push(std::thread::spawn(move || client(id, addr, conn, sh)));
    }

    let file = p.dynamic_dir().join("dynamic.toml");
    let mut latencies = Vec::new();
    for v in 1..=RELOADS {
        let text = config(v, &up.url());
        let written = Instant::now();
        if v.is_multiple_of(2) {
            std::fs::write(&file, &text).unwrap();
        } else {
            write_renamed(&file, &text);
        }
        wait_generation(&p, v as u64 + 1);
        latencies.push(written.elapsed());
        sh.min_version.store(v, Ordering::SeqCst);
        for k in 0..EXTRAS {
            let want = if extra_present(v, k) { 200 } else { 404 };
            let r = get(addr, &format!("x{k}.test"), "/");
            assert_eq!(r.status, want, "v={v}: router x{k}");
        }
    }
    // Every keep-alive connection, opened before the first reload, sees the last one.
    let all_seen = poll_until(Duration::from_secs(20), Duration::from_millis(10), || {
        let seen = sh.seen.lock().unwrap();
        seen.iter().all(|&v| v == RELOADS).then_some(())
    });
    sh.stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("client thread panicked");
    }

    let failures = sh.failures.lock().unwrap().clone();
    let requests = sh.requests.load(Ordering::SeqCst);
    latencies.sort();
    eprintln!(
        "{RELOADS} reloads, {requests} requests, write→published median {:?} max {:?}, \
         upstream connections {}",
        latencies[latencies.len() / 2],
        latencies.last().unwrap(),
        up.connections()
    );
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
    assert_eq!(sh.resets.load(Ordering::SeqCst), 0, "resets");
    assert!(
        all_seen.is_some(),
        "keep-alive clients did not all see v={RELOADS}: {:?}",
        sh.seen.lock().unwrap()
    );
    assert_eq!(
        p.log_count(RELOADED),
        RELOADS,
        "exactly one reload per change"
    );
    assert_eq!(p.log_count(REFUSED), 0);
    assert!(
        requests > 1000,
        "too little load to mean anything: {requests}"
    );
    // Each version goes live one throttle window (200ms) after the write; the rest
    // is a debug build on a shared machine.
    assert!(
        *latencies.last().unwrap() < Duration::from_secs(3),
        "slowest reload {:?}",
        latencies.last().unwrap()
    );
    // Reloads never touch the `up` service: its pooled connections carry over,
    // so connections stay within what concurrency alone needs (clients × workers).
    assert!(
        up.connections() <= (KEEP_ALIVE_CLIENTS + CLOSE_CLIENTS) * 2,
        "upstream connections: {}",
        up.connections()
    );
}
