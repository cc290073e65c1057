//! Criterion benches of the HTTP/1.1 codec's hot paths: parsing a browser-like
//! request head, a small curl request, an upstream response head, and streaming a
//! 64 KiB chunked body through `ChunkedDecoder`. Run: `cargo bench --bench codec`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proxyd::http::codec::{ChunkedDecoder, HeadParser, HeaderSpan};

const BROWSER: &[u8] = b"GET /assets/app.js?v=1733 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/\r\n\
Connection: keep-alive\r\n\
Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; _ga=GA1.2.123456789.1700000000\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: script\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Site: same-origin\r\n\
Priority: u=1\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\r\n";

const CURL: &[u8] =
    b"GET /small HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.22.1\r\n\
Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
Content-Type: application/javascript\r\n\
Content-Length: 16384\r\n\
Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
Connection: keep-alive\r\n\
ETag: \"65920080-4000\"\r\n\
Cache-Control: max-age=3600\r\n\
Accept-Ranges: bytes\r\n\r\n";

fn chunked_body(total: usize, chunk: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total + total / chunk * 8 + 16);
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b'x', n));
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn heads(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let mut parser = HeadParser::new();
    let mut headers: Vec<HeaderSpan> = Vec::with_capacity(64);
    for (name, head) in [("request_browser", BROWSER), ("request_curl", CURL)] {
        g.throughput(Throughput::Bytes(head.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = parser
                    .parse_request(black_box(head), 1 << 20, &mut headers)
                    .unwrap()
                    .unwrap();
                black_box(r.head_len)
            })
        });
    }
    g.throughput(Throughput::Bytes(RESPONSE.len() as u64));
    g.bench_function("response", |b| {
        b.iter(|| {
            let r = parser
                .parse_response(black_box(RESPONSE), 64 << 10, false, &mut headers)
                .unwrap()
                .unwrap();
            black_box(r.head_len)
        })
    });
    g.finish();
}

fn chunked(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunked_decode_64KiB");
    for chunk in [16384usize, 1024] {
        let body = chunked_body(64 << 10, chunk);
        g.throughput(Throughput::Bytes(64 << 10));
        g.bench_function(format!("chunks_of_{chunk}"), |b| {
            let mut dec = ChunkedDecoder::new();
            b.iter(|| {
                dec.reset();
                let mut payload = 0usize;
                let p = dec
                    .feed(black_box(&body), &mut |r| payload += r.len())
                    .unwrap();
                assert!(p.done);
                black_box(payload)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, heads, chunked);
criterion_main!(benches);
