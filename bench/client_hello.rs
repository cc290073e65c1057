//! Criterion bench of the ClientHello peek (`tls::client_hello::peek`), which runs
//! on every new TLS or TCP-by-SNI connection before any handshake work: a real
//! Chromium first flight in one record (the usual case, borrowed, no reassembly), the
//! same hello split over 3 records (the reassembly path), and plaintext HTTP (the
//! one-byte "not TLS" answer every plaintext connection on a TLS-capable entry
//! point pays). Run: `cargo bench --bench client_hello`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proxyd::tls::client_hello::{Peek, peek};

/// Chromium 156's first flight to `https://bench.example.com/`, captured once over
/// loopback: GREASE, X25519MLKEM768 key share, ALPN h2 + http/1.1, 1,925 bytes in one
/// record. Post-quantum key shares make real hellos this large now.
const CHROMIUM_HELLO: &[u8] = include_bytes!("data/chromium-hello.bin");

/// Re-frames a single-record hello into `parts` records.
fn split_records(hello: &[u8], parts: usize) -> Vec<u8> {
    let body = &hello[5..];
    let mut out = Vec::new();
    for chunk in body.chunks(body.len().div_ceil(parts)) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

fn hellos(c: &mut Criterion) {
    let one = CHROMIUM_HELLO.to_vec();
    let split = split_records(&one, 3);
    for bytes in [&one, &split] {
        assert!(
            matches!(peek(bytes), Peek::Hello(h) if h.sni.as_deref() == Some("bench.example.com"))
        );
    }
    let mut g = c.benchmark_group("client_hello");
    for (name, bytes) in [("one_record", &one), ("three_records", &split)] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| b.iter(|| black_box(peek(black_box(bytes)))));
    }
    let plain = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    g.throughput(Throughput::Bytes(1));
    g.bench_function("plaintext_http", |b| {
        b.iter(|| black_box(peek(black_box(plain))))
    });
    g.finish();
}

criterion_group!(benches, hellos);
criterion_main!(benches);
