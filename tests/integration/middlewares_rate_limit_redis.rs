//! rateLimit with `redis` against a real `redis-server` (Debian package
//! redis-server): Traefik's 429 and bucket layout in the store, one limit
//! shared by two proxyd processes, Traefik's 500 while the store is down (fast,
//! with other routers still served) and limiting again once it is back, a
//! silent store costing its read timeout without stalling the worker, the
//! limit kept over a reload that leaves the definition alone, and HTTP/2
//! requests (curl, h2c) limited by the same bucket; `tls` to a redis-server
//! serving TLS only.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::client::{Response, get};
use crate::common::config::router;
use crate::common::*;
use crate::kv_store::{CHANGE_LIMIT, Store, free_port, redis, redis_cli};
use crate::reload::{respond, wait_generation, write_renamed};

/// Traefik's answer when the store fails (Go's `http.Error` adds the newline).
const STORE_FAILED: &str = "Could not insert/update bucket\n";

/// Router `r` (every path of `app.test`) through rateLimit `lim` (`limit`
/// lines, `redis` lines) to a `respond` service, and router `o` for
/// `other.test` without it.
fn config(limit: &str, redis: &str) -> String {
    format!(
        "{}middlewares = [\"lim\"]\n[http.services.s.respond]\nbody = \"ok\"\n\
         [http.middlewares.lim.rateLimit]\n{limit}\n[http.middlewares.lim.rateLimit.redis]\n{redis}\n{}",
        router("r", "Host(`app.test`)", "s"),
        respond("o", "other.test", "other"),
    )
}

fn endpoint(s: &Store) -> String {
    format!("endpoints = [\"{}\"]", s.endpoint())
}

fn app(p: &Proxy) -> Response {
    get(p.addr(), "app.test", "/")
}

#[test]
fn redis_rate_limit_answers_traefiks_429_and_keeps_traefiks_bucket() {
    let store = redis("");
    let cfg = ProxyConfig::new(&config("average = 1\nperiod = \"1m\"", &endpoint(&store)));
    let p = Proxy::start(&cfg);
    assert_eq!(app(&p).status, 200, "{}", p.log_text());
    let r = app(&p);
    assert_eq!(r.status, 429, "{}", p.log_text());
    assert_eq!(r.text(), "Too Many Requests");
    assert_eq!(r.header("retry-after"), Some("60"), "{:?}", r.headers);
    let retry_in = r.header("x-retry-in").expect("X-Retry-In");
    assert!(
        retry_in.starts_with("59.") || retry_in == "1m0s",
        "{retry_in}"
    );
    // Traefik's layout: `rate:<middleware>:<source>`, fields last and tokens,
    // kept 1 + 60 s.
    let key = "rate:lim@file:127.0.0.1";
    let fields = redis_cli(&store, &["HKEYS", key], "");
    assert_eq!(
        fields.split_whitespace().collect::<Vec<_>>(),
        ["last", "tokens"]
    );
    let ttl: u64 = redis_cli(&store, &["TTL", key], "").trim().parse().unwrap();
    assert!((55..=61).contains(&ttl), "ttl {ttl}");
    // The other router has no limit.
    assert_eq!(get(p.addr(), "other.test", "/").text(), "other");
}

/// Two proxyd processes on one store, two clients each, new connection per
/// request, for 2 s at 20/s with burst 20: together they get 20 × t + 20
/// (±10%; one token is under 2% of it, and 2 s keeps a slow first or last
/// request on a loaded machine within that), where a bucket per process
/// would give twice that. The burst is a second of tokens so that a loaded
/// machine pausing every client for up to a second loses none (a full bucket
/// drops what comes in; with burst 5 a 250 ms stall already did).
#[test]
fn redis_rate_limit_is_shared_by_two_proxyd_processes() {
    let store = redis("");
    let text = config("average = 20\nburst = 20", &endpoint(&store));
    let (a, b) = (
        Proxy::start(&ProxyConfig::new(&text)),
        Proxy::start(&ProxyConfig::new(&text)),
    );
    // Warm up: each worker has its store connection before the window, and
    // the bucket is full again (burst 20 at 20/s: 1 s) when it starts.
    assert_eq!(app(&a).status, 200, "{}", a.log_text());
    assert_eq!(app(&b).status, 200, "{}", b.log_text());
    std::thread::sleep(Duration::from_millis(1200));
    let start = Instant::now();
    let window = Duration::from_secs(2);
    let clients: Vec<_> = [a.addr(), a.addr(), b.addr(), b.addr()]
        .into_iter()
        .map(|addr| {
            std::thread::spawn(move || {
                let (mut ok, mut limited, mut last) = (0u32, 0u32, Duration::ZERO);
                while start.elapsed() < window {
                    match get(addr, "app.test", "/").status {
                        200 => ok += 1,
                        429 => limited += 1,
                        s => panic!("unexpected status {s}"),
                    }
                    last = start.elapsed();
                }
                (ok, limited, last)
            })
        })
        .collect();
    let (mut ok, mut limited, mut last) = (0, 0, Duration::ZERO);
    for c in clients {
        let (o, l, t) = c.join().unwrap();
        (ok, limited, last) = (ok + o, limited + l, last.max(t));
    }
    // Every admission happened between `start` and the last answer (not the
    // joins, which a loaded machine delays).
    let elapsed = last.as_secs_f64();
    let expected = 20.0 * elapsed + 20.0;
    assert!(limited > 0, "the clients went past the limit");
    assert!(
        (f64::from(ok) - expected).abs() <= expected * 0.1,
        "admitted {ok} in {elapsed:.2}s, expected {expected:.0} ±10% ({limited} refused)"
    );
}

/// Store stopped: each request gets Traefik's 500 at once (a refused
/// connect), logged, while a router without the middleware is still served;
/// store back: limiting again, with nothing done to proxyd.
#[test]
fn redis_down_answers_500_then_limits_again_when_back() {
    let mut store = redis("");
    let redis_cfg = format!(
        "{}\ndialTimeout = \"1s\"\nreadTimeout = \"1s\"",
        endpoint(&store)
    );
    let p = Proxy::start(&ProxyConfig::new(&config(
        "average = 1\nperiod = \"1m\"",
        &redis_cfg,
    )));
    assert_eq!(app(&p).status, 200, "{}", p.log_text());
    assert_eq!(app(&p).status, 429);

    store.stop();
    for _ in 0..5 {
        let started = Instant::now();
        let r = app(&p);
        assert_eq!(r.status, 500, "{}", p.log_text());
        assert_eq!(r.text(), STORE_FAILED);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(get(p.addr(), "other.test", "/").text(), "other");
    }
    assert!(
        p.wait_log(
            "rateLimit lim@file: Could not insert/update bucket",
            LOG_WAIT
        ),
        "{}",
        p.log_text()
    );

    store.restart();
    let back = poll_until(CHANGE_LIMIT, Duration::from_millis(50), || {
        (app(&p).status != 500).then_some(())
    });
    assert!(
        back.is_some(),
        "still 500 with the store back: {}",
        p.log_text()
    );
    // At most one token a minute: whatever the first answer was, this is 429.
    assert_eq!(app(&p).status, 429, "{}", p.log_text());
}

/// A store that accepts but never answers: the request gets the 500 after
/// `readTimeout`, and meanwhile the same (single) worker answers others.
#[test]
fn redis_silent_store_costs_its_read_timeout_and_stalls_nothing() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let redis_cfg = format!(
        "endpoints = [\"{}\"]\nreadTimeout = \"800ms\"",
        silent.local_addr().unwrap()
    );
    let p = Proxy::start(&ProxyConfig::new(&config("average = 10", &redis_cfg)));
    let addr = p.addr();
    let started = Instant::now();
    let waiting = std::thread::spawn(move || get(addr, "app.test", "/"));
    std::thread::sleep(Duration::from_millis(200));
    let other = Instant::now();
    assert_eq!(get(p.addr(), "other.test", "/").text(), "other");
    assert!(
        other.elapsed() < Duration::from_millis(400),
        "{:?}",
        other.elapsed()
    );
    let r = waiting.join().unwrap();
    let took = started.elapsed();
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), STORE_FAILED);
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(silent);
}

/// A reload that leaves the middleware's definition alone keeps limiting
/// (same per-worker connections, same buckets).
#[test]
fn redis_rate_limit_keeps_working_over_a_reload() {
    let store = redis("");
    let mut cfg = ProxyConfig::new(&config("average = 1\nperiod = \"1h\"", &endpoint(&store)))
        .watched(Some("50ms"));
    cfg.dynamic
        .push(("more.toml".into(), respond("m", "more.test", "1")));
    let p = Proxy::start(&cfg);
    assert_eq!(app(&p).status, 200);
    assert_eq!(app(&p).status, 429);
    write_renamed(
        &p.dynamic_dir().join("more.toml"),
        &respond("m", "more.test", "2"),
    );
    wait_generation(&p, 2);
    assert_eq!(get(p.addr(), "more.test", "/").text(), "2");
    for _ in 0..3 {
        assert_eq!(app(&p).status, 429, "{}", p.log_text());
    }
    assert!(
        !p.log_contains("Could not insert/update bucket"),
        "{}",
        p.log_text()
    );
}

/// HTTP/2 (h2c, curl) requests take from the same shared bucket as HTTP/1.1
/// ones, and get the same 429 and, with the store down, the same 500.
#[test]
fn redis_rate_limit_holds_over_http2() {
    let mut store = redis("");
    let p = Proxy::start(&ProxyConfig::new(&config(
        "average = 1\nperiod = \"1m\"",
        &endpoint(&store),
    )));
    let url = format!("http://{}/", p.addr());
    let h2 = || {
        let args = ["--http2-prior-knowledge", "-H", "Host: app.test"];
        let (out, err) =
            crate::h2::curl(&[&args[..], &["-w", "\n%{http_version} %{http_code}", &url]].concat());
        assert!(out.contains("\n2 "), "not HTTP/2: {out} {err}");
        out
    };
    assert!(h2().ends_with("2 200"), "{}", p.log_text());
    let refused = h2();
    assert!(refused.ends_with("Too Many Requests\n2 429"), "{refused}");
    assert_eq!(app(&p).status, 429, "one bucket for both protocols");
    store.stop();
    let failed = h2();
    assert!(
        failed.ends_with(&format!("{STORE_FAILED}\n2 500")),
        "{failed}"
    );
}

/// A `redis-server` that speaks only TLS, with a certificate for 127.0.0.1
/// from `ca`; killed on drop.
struct TlsRedis(std::process::Child, u16, tempfile::TempDir);

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tls_redis(ca: &crate::tls::pki::Ca) -> TlsRedis {
    let dir = tempfile::tempdir().unwrap();
    let leaf = ca.leaf(&["127.0.0.1"]);
    let path = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (cert, key, ca_file) = (
        path("c.pem", &leaf.cert_pem),
        path("k.pem", &leaf.key_pem),
        path("ca.pem", &ca.pem()),
    );
    let port = free_port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args([
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca_file,
        ])
        .args(["--tls-auth-clients", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server)");
    let up = poll_until(Duration::from_secs(20), Duration::from_millis(50), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    assert!(up.is_some(), "redis-server did not listen on {port}");
    TlsRedis(child, port, dir)
}

/// `tls.ca`: the limit holds through a TLS-only store, verified with the CA
/// (a file); another CA fails the handshake, answered with Traefik's 500.
#[test]
fn redis_rate_limit_through_tls() {
    let ca = crate::tls::pki::Ca::new("redis test CA");
    let store = tls_redis(&ca);
    let ca_path = store.2.path().join("ca.pem");
    let redis_cfg = |ca: &str| {
        format!(
            "endpoints = [\"127.0.0.1:{}\"]\n[http.middlewares.lim.rateLimit.redis.tls]\nca = {ca:?}",
            store.1
        )
    };
    let p = Proxy::start(&ProxyConfig::new(&config(
        "average = 1\nperiod = \"1m\"",
        &redis_cfg(ca_path.to_str().unwrap()),
    )));
    assert_eq!(app(&p).status, 200, "{}", p.log_text());
    assert_eq!(app(&p).status, 429, "{}", p.log_text());

    let other = crate::tls::pki::Ca::new("another CA");
    let q = Proxy::start(&ProxyConfig::new(&config(
        "average = 1\nperiod = \"1m\"",
        &redis_cfg(&other.pem()),
    )));
    let r = app(&q);
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, STORE_FAILED),
        "{}",
        q.log_text()
    );
    assert!(
        q.wait_log("TLS handshake failed", LOG_WAIT),
        "{}",
        q.log_text()
    );
}
