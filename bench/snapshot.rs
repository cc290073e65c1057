//! Criterion bench of snapshot compile: a dynamic config file with 10,000 Host
//! routers and 10,000 services (each a load balancer with one server), written to a
//! temp dir and loaded with `config::load_snapshot` (read + parse + validate +
//! resolve + build router tables). The goal is < 100 ms. A 1,000-router variant
//! shows how it scales; `read_and_parse` is the part of it that reads and parses
//! the file (`config::read_dynamic`), and `toml_parse_only` parses the same text
//! into a generic `toml::Table`. Run: `cargo bench --bench snapshot`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use proxyd::config;

fn write_config(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut dynamic = String::with_capacity(n * 200);
    for i in 0..n {
        writeln!(
            dynamic,
            "[http.routers.r{i}]\nrule = \"Host(`h{i}.bench.local`)\"\nservice = \"s{i}\"\n\n\
             [[http.services.s{i}.loadBalancer.servers]]\nurl = \"http://127.0.0.1:{}\"\n",
            10_000 + i % 50_000
        )
        .unwrap();
    }
    let dyn_path = dir.join(format!("dynamic-{n}.toml"));
    std::fs::write(&dyn_path, dynamic).unwrap();
    let static_path = dir.join(format!("static-{n}.toml"));
    std::fs::write(
        &static_path,
        format!(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[providers.file]\nfilename = \"{}\"\n",
            dyn_path.display()
        ),
    )
    .unwrap();
    static_path
}

fn compile(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("load_snapshot");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for n in [1_000usize, 10_000] {
        let cfg = config::load_static(&write_config(dir.path(), n)).unwrap();
        let snap = config::load_snapshot(&cfg, 1).unwrap();
        assert_eq!(snap.routers.len(), n);
        g.bench_with_input(BenchmarkId::new("routers_and_services", n), &n, |b, _| {
            b.iter(|| black_box(config::load_snapshot(&cfg, 1).unwrap().routers.len()))
        });
        // The share of the above that is reading the file and parsing it into
        // proxyd's serde structs; the rest is validate, resolve and compile.
        g.bench_with_input(BenchmarkId::new("read_and_parse", n), &n, |b, _| {
            b.iter(|| black_box(config::read_dynamic(&cfg).files.len()))
        });
        // TOML parsing into a generic value, for comparison across toml versions.
        // With toml 1.x building a `toml::Table` costs more than proxyd's structs.
        let text = std::fs::read_to_string(dir.path().join(format!("dynamic-{n}.toml"))).unwrap();
        g.bench_with_input(BenchmarkId::new("toml_parse_only", n), &n, |b, _| {
            b.iter(|| black_box(text.parse::<toml::Table>().unwrap().len()))
        });
    }
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
