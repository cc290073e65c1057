//! compress against Traefik's behaviour: gzip, br and zstd bodies that decode
//! to the original, Accept-Encoding negotiation, `Vary: Accept-Encoding`,
//! chunked framing instead of Content-Length; small bodies, excluded types,
//! encoded responses, ranges and HEAD left alone; a streamed response
//! (server-sent events) reaching the client piece by piece.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::common::client::{Client, Response};
use crate::common::config::{lb_service, router};
use crate::common::io::Head;
use crate::common::scripted::send;
use crate::common::*;

/// A proxy routing every request through `compress` (with `opts`) to `url`.
fn start(url: &str, opts: &str) -> Proxy {
    let dynamic = format!(
        "{}middlewares = [\"squeeze\"]\n{}[http.middlewares.squeeze.compress]\n{opts}\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[url.to_string()]),
    );
    Proxy::start(&ProxyConfig::new(&dynamic))
}

fn fetch(p: &Proxy, method: &str, extra: &str) -> Response {
    let mut c = Client::connect(p.addr());
    c.request(&format!(
        "{method} / HTTP/1.1\r\nHost: app.test\r\n{extra}\r\n"
    ))
}

pub fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(body)
            .unwrap()
            .read_to_end(&mut out),
        e => panic!("unexpected encoding {e}"),
    }
    .unwrap();
    out
}

pub fn text(len: usize) -> Vec<u8> {
    (0..)
        .flat_map(|i: u32| format!("{{\"item\":{i}}},\n").into_bytes())
        .take(len)
        .collect()
}

#[test]
fn compress_gzip_br_and_zstd_decode_to_the_original() {
    let body = text(200_000);
    for framing in ["length", "chunked"] {
        let b = Behavior::fixed(200, &body).header("Content-Type", "application/json");
        let b = if framing == "chunked" { b.chunked() } else { b };
        let up = Upstream::start("up", b.header("Accept-Ranges", "bytes"));
        let p = start(&up.url(), "");
        for (accept, want) in [
            ("gzip", "gzip"),
            ("br", "br"),
            ("zstd", "zstd"),
            ("br;q=0.5, zstd;q=0.9, gzip;q=0.1", "zstd"),
            ("*", "gzip"),
        ] {
            let r = fetch(&p, "GET", &format!("Accept-Encoding: {accept}\r\n"));
            assert_eq!(r.status, 200);
            assert_eq!(
                r.header("content-encoding"),
                Some(want),
                "{accept} {framing}"
            );
            assert_eq!(r.header("vary"), Some("Accept-Encoding"));
            assert_eq!(r.header("content-length"), None);
            assert_eq!(r.header("accept-ranges"), None);
            assert!(r.chunked);
            // gzip level 1 (zlib-rs' static Huffman codes) keeps about a quarter.
            assert!(r.body.len() < body.len() / 3, "{want}: {}", r.body.len());
            assert!(
                decode(want, &r.body) == body,
                "{want} {framing}: decoded body differs"
            );
        }
        // No Accept-Encoding, or one Traefik cannot serve: as it came.
        for extra in [
            "",
            "Accept-Encoding: identity\r\n",
            "Accept-Encoding: compress\r\n",
        ] {
            let r = fetch(&p, "GET", extra);
            assert_eq!(r.header("content-encoding"), None, "{extra:?}");
            assert!(r.body == body);
        }
    }
}

#[test]
fn compress_leaves_small_excluded_encoded_ranged_and_head_responses_alone() {
    let small = Upstream::start("small", Behavior::fixed(200, &text(1023)));
    let p = start(&small.url(), "");
    let r = fetch(&p, "GET", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("content-length"), Some("1023"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    // Chunked and small: read ahead to its end, then sent as it is.
    let small_chunks = Upstream::start("sc", Behavior::chunks(&[b"tiny ", b"body"]));
    let p = start(&small_chunks.url(), "");
    let r = fetch(&p, "GET", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, b"tiny body");

    let big = text(4096);
    let cases = [
        (
            Behavior::fixed(200, &big).header("Content-Type", "image/png"),
            "GET",
        ),
        (
            Behavior::fixed(200, &big).header("Content-Encoding", "br"),
            "GET",
        ),
        (
            Behavior::fixed(206, &big).header("Content-Range", "bytes 0-4095/9000"),
            "GET",
        ),
        (Behavior::fixed(200, &big), "HEAD"),
    ];
    for (b, method) in cases {
        let up = Upstream::start("up", b.clone());
        let p = start(&up.url(), "excludedContentTypes = [\"image/png\"]");
        let r = fetch(&p, method, "Accept-Encoding: gzip\r\n");
        let encoding = b.headers.iter().find(|(n, _)| n == "Content-Encoding");
        assert_eq!(
            r.header("content-encoding"),
            encoding.map(|(_, v)| v.as_str()),
            "{b:?}"
        );
        if method == "GET" {
            assert!(r.body == big, "{b:?}");
        }
    }
    // The included list is exclusive.
    let json = Upstream::start(
        "json",
        Behavior::fixed(200, &big).header("Content-Type", "text/html"),
    );
    let p = start(&json.url(), "includedContentTypes = [\"application/json\"]");
    assert_eq!(
        fetch(&p, "GET", "Accept-Encoding: gzip\r\n").header("content-encoding"),
        None
    );
}

/// Server-sent events: each event is compressed and flushed as it comes,
/// while the upstream keeps the response open.
#[test]
fn compress_flushes_a_streamed_response_as_it_comes() {
    let sse = Scripted::start(|_, _| {
        vec![
            send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"),
            send(b"b\r\ndata: one\n\n\r\n"),
            Step::Hold(Duration::from_millis(1500)),
            send(b"b\r\ndata: two\n\n\r\n0\r\n\r\n"),
        ]
    });
    let p = start(&sse.url(), "");
    let mut c = Client::connect(p.addr());
    c.send(b"GET /events HTTP/1.1\r\nHost: app.test\r\nAccept-Encoding: gzip\r\n\r\n");
    let t = Instant::now();
    let head = Head::parse(&c.io.read_head().unwrap().unwrap()).unwrap();
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    while !decoder.get_ref().ends_with(b"data: one\n\n") {
        let line = String::from_utf8(c.io.read_line().unwrap()).unwrap();
        let n = usize::from_str_radix(line.trim(), 16).unwrap();
        assert!(n > 0, "the stream ended before the first event");
        c.io.read_exact_to(n as u64, &mut |d| decoder.write_all(d).unwrap())
            .unwrap();
        decoder.flush().unwrap();
        assert_eq!(c.io.read_line().unwrap(), b"", "the chunk's CRLF");
    }
    assert!(
        t.elapsed() < Duration::from_millis(1200),
        "first event late: {:?}",
        t.elapsed()
    );
    assert_eq!(decoder.get_ref().as_slice(), b"data: one\n\n");
}

/// A 100 MB response compressed as it streams: the client decodes exactly
/// the original, and proxyd's memory grows by far less than the body (a
/// compressor that buffered the body would hold all of it).
#[test]
fn compress_streams_100_mb_in_bounded_memory() {
    const LEN: u64 = 100 * 1024 * 1024;
    let up = Upstream::start("big", Behavior::pattern(LEN));
    let p = start(&up.url(), "");
    let warm = fetch(&p, "GET", "");
    assert_eq!(warm.status, 200);
    let baseline = p.rss_kib().expect("VmRSS of proxyd");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pid = p.pid();
    let sampler = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut peak = 0;
            // Bounded: at most ~10 minutes of samples.
            for _ in 0..30_000 {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                peak = peak.max(crate::common::proxy::rss_kib(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let mut c = Client::connect(p.addr());
    c.deadline(Duration::from_secs(120));
    c.send(b"GET / HTTP/1.1\r\nHost: app.test\r\nAccept-Encoding: zstd\r\n\r\n");
    let mut fnv = Fnv::default();
    let mut decoded = 0u64;
    let mut sink = CountingSink(&mut fnv, &mut decoded);
    let mut decoder = zstd::stream::write::Decoder::new(&mut sink).unwrap();
    let r = c
        .read_response_streaming("GET", &mut |d| decoder.write_all(d).unwrap())
        .expect("download");
    decoder.flush().unwrap();
    drop(decoder);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    assert_eq!(r.header("content-encoding"), Some("zstd"));
    assert_eq!(decoded, LEN);
    assert_eq!(fnv.0, Pattern::fnv(LEN));
    let growth = peak.saturating_sub(baseline);
    eprintln!("compress: RSS grew by {growth} KiB streaming {LEN} bytes");
    assert!(
        growth < 48 * 1024,
        "RSS grew by {growth} KiB for a 100 MB body"
    );
}

/// Feeds decoded bytes to a hash and a count.
struct CountingSink<'a>(&'a mut Fnv, &'a mut u64);

impl Write for CountingSink<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        *self.1 += b.len() as u64;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// #11: a response `buffering` read whole (here spilled to its temporary
/// file) is compressed too; one under `minResponseBodyBytes` keeps its length.
#[test]
fn compress_applies_to_a_response_buffering_held() {
    let body = text(300_000);
    let b = Behavior::fixed(200, &body).header("Content-Type", "application/json");
    let up = Upstream::start("up", b.chunked());
    let small = Upstream::start("small", Behavior::fixed(200, b"{\"tiny\":1}"));
    let dynamic = format!(
        "{}middlewares = [\"squeeze\", \"buf\"]\n{}{}middlewares = [\"squeeze\", \"buf\"]\n{}\
         [http.middlewares.squeeze.compress]\n\
         [http.middlewares.buf.buffering]\nmemResponseBodyBytes = 4096\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
        router("tiny", "PathPrefix(`/tiny`)", "t"),
        lb_service("t", &[small.url()]),
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let mut c = Client::connect(p.addr());
    for _ in 0..2 {
        // Keep-alive: the last chunk ends it, and the connection serves again.
        let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\nAccept-Encoding: gzip\r\n\r\n");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        assert_eq!(r.header("content-length"), None);
        assert!(r.chunked);
        assert!(r.body.len() < body.len() / 3, "{}", r.body.len());
        assert!(decode("gzip", &r.body) == body, "decoded body differs");
    }
    let r = c.request("GET /tiny HTTP/1.1\r\nHost: app.test\r\nAccept-Encoding: gzip\r\n\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(r.body, b"{\"tiny\":1}");
}
