//! Criterion benches of the process-wide limiters' request phase: a rateLimit
//! that admits (one hash, one set of 8 loads, one clock read, one
//! compare-exchange), one that refuses (the 429 and its two headers), and an
//! inFlightReq place taken and given back. Single-threaded: the cost without
//! contention. Run: `cargo bench --bench limits`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use proxyd::middleware::ip_strategy::IpStrategy;
use proxyd::middleware::limits::{Bucket, Source};
use proxyd::middleware::{Edits, InFlightReq, RateLimit};
use proxyd::router::{HeaderLookup, RequestInfo};

struct NoHeaders;

impl HeaderLookup for NoHeaders {
    fn any_value(&self, _name: &str, _f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        false
    }
}

fn req() -> RequestInfo<'static> {
    RequestInfo {
        method: b"GET",
        host: b"app.bench",
        path: b"/",
        query: b"",
        client_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        headers: &NoHeaders,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    }
}

fn client_ip() -> Source {
    Source::Ip(IpStrategy::RemoteAddr { ipv6_subnet: None })
}

fn limits(c: &mut Criterion) {
    let r = req();
    let mut edits = Edits::default();
    let admit = RateLimit {
        // A billion a second: never limiting, every request takes a token.
        bucket: Bucket::new(1_000_000_000, Duration::from_secs(1), 1_000),
        source: client_ip(),
        table: Arc::default(),
        redis: None,
        uses_redis: false,
    };
    c.bench_function("rate_limit_admit", |b| {
        b.iter(|| black_box(admit.apply(black_box(&r), &mut edits)))
    });
    let refuse = RateLimit {
        bucket: Bucket::new(1, Duration::from_secs(3600), 1),
        source: client_ip(),
        table: Arc::default(),
        redis: None,
        uses_redis: false,
    };
    c.bench_function("rate_limit_refuse", |b| {
        b.iter(|| {
            edits.clear();
            black_box(refuse.apply(black_box(&r), &mut edits))
        })
    });
    let in_flight = InFlightReq {
        amount: 100,
        source: Source::Host,
        table: Arc::default(),
        body: "max connections reached: 100".into(),
    };
    c.bench_function("in_flight_acquire_release", |b| {
        b.iter(|| {
            black_box(in_flight.apply(black_box(&r), &mut edits));
            edits.clear();
        })
    });
}

criterion_group!(benches, limits);
criterion_main!(benches);
