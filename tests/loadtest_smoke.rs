//! Keeps the load-test harness from rotting: runs `loadtest/run --smoke --no-install`
//! (release build, then 1 s per target, 1 round, scenarios 1, 3, 4 and 5 against
//! proxyd, nginx and HAProxy on 127.0.0.1) and checks that every row produced
//! numbers and only 2xx answers. It checks no speed.
//!
//! Needs wrk, nginx, haproxy, taskset and python3. Without them the test is skipped
//! (it says why) unless `CI=true`, where it fails: `.ci/run` installs them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const TOOLS: &[&str] = &["wrk", "nginx", "haproxy", "taskset", "timeout", "python3"];
/// scenario ids × targets the smoke run must produce.
const SCENARIOS: &[&str] = &["1", "3", "4-16k", "4-1m", "5"];
const TARGETS: &[&str] = &["proxyd", "nginx", "haproxy"];

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target dir this test was built in (…/target/debug/proxyd → …/target).
fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_proxyd"));
    bin.parent().and_then(Path::parent).unwrap().to_path_buf()
}

#[test]
fn loadtest_smoke_every_row_has_numbers() {
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !on_path(t)).collect();
    if !missing.is_empty() {
        let msg = format!(
            "loadtest smoke: missing {} (apt-get install wrk nginx-light haproxy)",
            missing.join(", ")
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}: CI must install them (.ci/run does)");
        }
        eprintln!("SKIPPED {msg}");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let status = Command::new("timeout")
        .args(["-k", "10", "1500", "python3"])
        .arg(root().join("loadtest/run"))
        .args(["--smoke", "--no-install", "--out"])
        .arg(out.path())
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(root())
        .status()
        .expect("run loadtest/run");
    eprintln!(
        "loadtest smoke took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(status.success(), "loadtest/run --smoke failed: {status}");

    let tsv = std::fs::read_to_string(out.path().join("rows.tsv")).expect("rows.tsv");
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(
        header,
        [
            "scenario",
            "target",
            "rps",
            "p50_us",
            "p99_us",
            "p999_us",
            "cpu_us_per_req",
            "errors",
            "non2xx"
        ]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    for s in SCENARIOS {
        for t in TARGETS {
            let row = rows
                .iter()
                .find(|r| r[0] == *s && r[1] == *t)
                .unwrap_or_else(|| panic!("no row for scenario {s} target {t}:\n{tsv}"));
            let num = |i: usize| -> f64 {
                row[i].parse().unwrap_or_else(|_| {
                    panic!(
                        "scenario {s} {t}: {} = {:?} is not a number",
                        header[i], row[i]
                    )
                })
            };
            for i in 2..=5 {
                assert!(
                    num(i) > 0.0,
                    "scenario {s} {t}: {} is {}",
                    header[i],
                    row[i]
                );
            }
            assert!(num(6) >= 0.0, "scenario {s} {t}: no CPU figure");
            assert_eq!(num(8), 0.0, "scenario {s} {t}: non-2xx answers:\n{tsv}");
            assert_eq!(num(7), 0.0, "scenario {s} {t}: socket errors:\n{tsv}");
        }
    }
}
