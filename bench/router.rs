//! Criterion benches of `RouterTable::find`: tables of 10, 1,000 and 10,000
//! ``Host(`…`)`` routers plus a catch-all, with a hit in the middle of the table and
//! a miss (falls through to the catch-all), and a table of 100 `PathPrefix` rules
//! with no Host, which is a linear scan by design. The goal is a flat cost across
//! table sizes. Run: `cargo bench --bench router`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use proxyd::router::{HeaderLookup, RequestInfo, RouteEntry, RouterTable, Rule};

struct NoHeaders;

impl HeaderLookup for NoHeaders {
    fn any_value(&self, _name: &str, _f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        false
    }
}

fn entry(id: u32, rule: &str, priority: Option<i64>) -> RouteEntry {
    RouteEntry {
        rule: Rule::parse(rule).expect("rule"),
        priority: priority.unwrap_or_else(|| Rule::default_priority(rule)),
        name: format!("r{id}"),
        id,
    }
}

fn host_table(n: u32) -> RouterTable {
    let mut routes: Vec<RouteEntry> = (0..n)
        .map(|i| entry(i, &format!("Host(`h{i}.bench.local`)"), None))
        .collect();
    routes.push(entry(n, "PathPrefix(`/`)", Some(1)));
    RouterTable::build(routes)
}

fn prefix_table(n: u32) -> RouterTable {
    RouterTable::build(
        (0..n)
            .map(|i| entry(i, &format!("PathPrefix(`/svc{i}/`)"), None))
            .collect(),
    )
}

fn req<'a>(host: &'a [u8], path: &'a [u8]) -> RequestInfo<'a> {
    RequestInfo {
        method: b"GET",
        host,
        path,
        query: b"",
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        headers: &NoHeaders,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    }
}

fn hosts(c: &mut Criterion) {
    let mut g = c.benchmark_group("find_host");
    for n in [10u32, 1_000, 10_000] {
        let table = host_table(n);
        let hit = format!("h{}.bench.local:8080", n / 2);
        g.bench_with_input(BenchmarkId::new("hit", n), &n, |b, _| {
            let r = req(hit.as_bytes(), b"/index.html");
            b.iter(|| black_box(table.find(black_box(&r))))
        });
        g.bench_with_input(BenchmarkId::new("miss", n), &n, |b, _| {
            let r = req(b"unknown.example.org", b"/index.html");
            b.iter(|| black_box(table.find(black_box(&r))))
        });
    }
    g.finish();
}

fn prefixes(c: &mut Criterion) {
    let mut g = c.benchmark_group("find_path_prefix_100");
    let table = prefix_table(100);
    // Priority is the rule length, then the name: `/svc10/`..`/svc99/` come before
    // `/svc0/`..`/svc9/`, so /svc10/ is tried first and /svc9/ last.
    for (name, path) in [
        ("first", &b"/svc10/x"[..]),
        ("last", b"/svc9/x"),
        ("miss", b"/nothing"),
    ] {
        g.bench_function(name, |b| {
            let r = req(b"bench.local", path);
            b.iter(|| black_box(table.find(black_box(&r))))
        });
    }
    g.finish();
}

criterion_group!(benches, hosts, prefixes);
criterion_main!(benches);
