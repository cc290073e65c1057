//! Body framing through the proxy: chunked both ways, read-until-close,
//! HEAD/204/304, upstream 1xx, and 100 MB streamed each way under an RSS cap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::config::app;
use crate::common::*;

fn proxy_for(up: &Upstream) -> Proxy {
    Proxy::start(&ProxyConfig::new(&app(&[up.url()])))
}

#[test]
fn chunked_request_body_passed_through_as_chunked() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    let r = c.request(
        "POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert!(
        seen.chunked,
        "upstream did not get a chunked body: {seen:#?}"
    );
    assert!(!seen.has_header("content-length"), "{seen:#?}");
    assert_eq!(seen.body, b"hello world!");
    // Keep-alive still works after a chunked request.
    let r2 = c.request("GET /next HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r2.status, 200);
    assert_eq!(up.requests()[1].target, "/next");
}

#[test]
fn chunked_request_body_sent_in_pieces() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    c.send(b"POST /p HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut want = Vec::new();
    for i in 0..20u8 {
        let piece = vec![b'a' + i; 100 + usize::from(i)];
        c.send(format!("{:x}\r\n", piece.len()).as_bytes());
        c.send(&piece);
        c.send(b"\r\n");
        want.extend_from_slice(&piece);
        std::thread::sleep(Duration::from_millis(5));
    }
    c.send(b"0\r\n\r\n");
    assert_eq!(c.read_response().status, 200);
    let seen = up.only_request();
    assert_eq!(seen.body_len, want.len() as u64);
    assert_eq!(seen.body, want);
}

#[test]
fn chunked_request_trailers_reach_upstream() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let r = crate::common::client::request(
        p.addr(),
        "POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n0\r\nX-Checksum: 42\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(seen.body, b"abc");
    assert_eq!(
        seen.trailers,
        vec![("X-Checksum".to_string(), "42".to_string())]
    );
}

#[test]
fn chunked_response_passed_through() {
    let up = Upstream::start("up", Behavior::chunks(&[b"first,", b"second,", b"third"]));
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(
        r.chunked,
        "expected a chunked response, headers {:?}",
        r.headers
    );
    assert!(r.header("content-length").is_none());
    assert_eq!(r.body, b"first,second,third");
    // Framing was right: the connection is usable for the next request.
    assert_eq!(
        c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").body,
        r.body
    );
}

#[test]
fn read_until_close_response_delivered_whole() {
    let up = Upstream::start(
        "up",
        Behavior::fixed(200, b"until the very end").until_close(),
    );
    let p = proxy_for(&up);
    let r = crate::common::client::get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"until the very end");
}

#[test]
fn upstream_interim_1xx_then_final_response() {
    let up = Upstream::start("up", Behavior::fixed(200, b"final").interim(103));
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"final");
    assert_eq!(
        c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").status,
        200
    );
}

#[test]
fn head_response_has_no_body() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    let r = c.request("HEAD /h HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 200);
    // If the proxy wrongly sent a body, the next response would not parse.
    let r2 = c.request("GET /after-head HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r2.status, 200);
    assert!(
        r2.text().contains("request: GET /after-head HTTP/1.1"),
        "{}",
        r2.text()
    );
    assert_eq!(up.requests()[0].method, "HEAD");
}

#[test]
fn status_204_and_304_have_no_body() {
    for status in [204u16, 304] {
        let up = Upstream::start("up", Behavior::fixed(status, b""));
        let p = proxy_for(&up);
        let mut c = Client::connect(p.addr());
        let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
        assert_eq!(r.status, status);
        assert!(
            r.header("transfer-encoding").is_none(),
            "{status}: {:?}",
            r.headers
        );
        c.send(b"GET /2 HTTP/1.1\r\nHost: app.test\r\n\r\n");
        c.deadline(Duration::from_secs(10));
        let r2 = c.read_response();
        assert_eq!(r2.status, status, "second response on the connection");
        assert!(
            c.io.buffered().is_empty(),
            "{status}: stray bytes after response"
        );
    }
}

#[test]
fn chunked_upload_10mb_passed_through_intact() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let len = 10 * 1024 * 1024;
    let mut c = Client::connect(p.addr());
    c.send(b"POST /chunked HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut pat = Pattern::new(len);
    while let Some(chunk) = pat.next_chunk() {
        c.send(format!("{:x}\r\n", chunk.len()).as_bytes());
        c.send(chunk);
        c.send(b"\r\n");
    }
    c.send(b"0\r\n\r\n");
    c.deadline(Duration::from_secs(30));
    assert_eq!(c.read_response().status, 200);
    let seen = up.only_request();
    assert!(seen.chunked);
    assert_eq!(seen.body_len, len);
    assert_eq!(seen.body_fnv, Pattern::fnv(len));
}

#[test]
fn chunked_download_10mb_passed_through_intact() {
    let len = 10 * 1024 * 1024;
    let up = Upstream::start("up", Behavior::pattern(len).chunked());
    let p = proxy_for(&up);
    let mut c = Client::connect(p.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(30));
    let mut fnv = Fnv::default();
    let mut got = 0u64;
    let r = c
        .read_response_streaming("GET", &mut |d| {
            fnv.update(d);
            got += d.len() as u64;
        })
        .expect("download");
    assert_eq!(r.status, 200);
    assert!(r.chunked);
    assert_eq!(got, len);
    assert_eq!(fnv.0, Pattern::fnv(len));
}

/// Samples proxyd's VmRSS every 20 ms until stopped; returns the peak (KiB).
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, pk) = (Arc::clone(&stop), Arc::clone(&peak));
        let handle = std::thread::spawn(move || {
            // Bounded: at most ~10 minutes of samples even if never stopped.
            for _ in 0..30_000 {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Some(kib) = crate::common::proxy::rss_kib(pid) {
                    pk.fetch_max(kib, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssSampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::SeqCst)
    }
}

const BIG: u64 = 100 * 1024 * 1024;
/// Allowed RSS growth during a 100 MB transfer.
const RSS_SLACK_KIB: u64 = 64 * 1024;

/// Baseline RSS after one warm-up request (pools, buffers, snapshot built).
fn warm_baseline(p: &Proxy) -> u64 {
    let r = crate::common::client::get(p.addr(), "app.test", "/warmup");
    assert_eq!(r.status, 200);
    p.rss_kib().expect("VmRSS of proxyd")
}

#[test]
fn large_upload_100mb_streamed_with_bounded_memory() {
    let up = Upstream::echo("up");
    let p = proxy_for(&up);
    let base = warm_baseline(&p);
    let sampler = RssSampler::start(p.pid());
    let mut c = Client::connect(p.addr());
    c.send(
        format!("POST /big HTTP/1.1\r\nHost: app.test\r\nContent-Length: {BIG}\r\n\r\n").as_bytes(),
    );
    let mut pat = Pattern::new(BIG);
    while let Some(chunk) = pat.next_chunk() {
        c.send(chunk);
    }
    c.deadline(Duration::from_secs(60));
    let r = c.read_response();
    let peak = sampler.finish();
    eprintln!("upload: proxyd RSS baseline {base} KiB, peak {peak} KiB");
    assert_eq!(r.status, 200);
    let seen = up
        .requests()
        .into_iter()
        .find(|s| s.target == "/big")
        .expect("upload seen");
    assert_eq!(seen.body_len, BIG);
    assert_eq!(
        seen.body_fnv,
        Pattern::fnv(BIG),
        "upload corrupted on the way"
    );
    assert!(
        peak <= base + RSS_SLACK_KIB,
        "proxyd RSS peaked at {peak} KiB, baseline {base} KiB: the body was buffered"
    );
}

#[test]
fn large_download_100mb_streamed_with_bounded_memory() {
    let up = Upstream::start("up", Behavior::pattern(BIG));
    let p = proxy_for(&up);
    let base = warm_baseline(&p);
    let sampler = RssSampler::start(p.pid());
    let mut c = Client::connect(p.addr());
    c.send(b"GET /big HTTP/1.1\r\nHost: app.test\r\n\r\n");
    c.deadline(Duration::from_secs(60));
    let mut fnv = Fnv::default();
    let mut len = 0u64;
    let r = c
        .read_response_streaming("GET", &mut |d| {
            fnv.update(d);
            len += d.len() as u64;
            // Read slowly at first so the proxy must apply backpressure
            // instead of buffering.
            if len < 8 * 1024 * 1024 {
                std::thread::sleep(Duration::from_micros(200));
            }
        })
        .expect("download");
    let peak = sampler.finish();
    eprintln!("download: proxyd RSS baseline {base} KiB, peak {peak} KiB");
    assert_eq!(r.status, 200);
    assert_eq!(len, BIG);
    assert_eq!(fnv.0, Pattern::fnv(BIG), "download corrupted on the way");
    assert!(
        peak <= base + RSS_SLACK_KIB,
        "proxyd RSS peaked at {peak} KiB, baseline {base} KiB: the body was buffered"
    );
}

/// A server-sent event stream with Traefik's `responseForwarding.flushInterval`
/// (here its default, 100ms): each event reaches the client while the upstream
/// keeps the response open, since proxyd never holds body bytes back.
#[test]
fn event_stream_reaches_the_client_while_the_upstream_keeps_it_open() {
    use crate::common::scripted::{Scripted, Step, send};
    use std::io::{Read, Write};
    let up = Scripted::start(|_, _| {
        vec![
            send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"),
            send(b"9\r\ndata: 1\n\n\r\n"),
            Step::Hold(Duration::from_secs(30)),
        ]
    });
    let dynamic = format!(
        "{}{}",
        config::router("app", "Host(`app.test`)", "app"),
        config::lb_service_with(
            "app",
            &[up.url()],
            "responseForwarding.flushInterval = \"100ms\"\n"
        ),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let mut s = std::net::TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(7).any(|w| w == b"data: 1") {
        let n = s
            .read(&mut buf)
            .expect("the event did not arrive within 5 s");
        assert!(
            n > 0,
            "closed before the event: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
}
