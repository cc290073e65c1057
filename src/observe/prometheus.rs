//! Prometheus text exposition (format 0.0.4) of every worker's merged counters, with
//! Traefik's family names under a `proxyd_` prefix. Histograms come from the merged
//! hdrhistograms: a bucket's count is the number of recorded latencies at or below
//! its bound (hdrhistogram's 1% resolution), `_sum` is exact.

use std::fmt::Write;

use crate::config::{ServiceKind, Snapshot};

use super::Hub;
use super::metrics::Family;
use crate::config::observe::{Internal, PrometheusConfig};

/// Routers and services of the admin services themselves are left out, as Traefik
/// does without `addInternals`; their requests still count on the entry point.
pub fn is_admin(name: &str) -> bool {
    [
        Internal::Api,
        Internal::Dashboard,
        Internal::Ping,
        Internal::Prometheus,
    ]
    .iter()
    .any(|k| k.name() == name)
}

/// `proxyd_provider_up{provider}`: whether each KV store answers.
fn provider_up(out: &mut String, providers: &[(&str, bool)]) {
    if providers.is_empty() {
        return;
    }
    header(
        out,
        "provider_up",
        "gauge",
        "Whether the provider's store answers (1) or not (0).",
    );
    for (name, up) in providers {
        let _ = writeln!(
            out,
            "proxyd_provider_up{{provider=\"{name}\"}} {}",
            u8::from(*up)
        );
    }
}

pub fn render(hub: &Hub, snap: &Snapshot) -> Vec<u8> {
    let default = PrometheusConfig {
        entry_point: String::new(),
        buckets: crate::config::observe::DEFAULT_BUCKETS.to_vec(),
        entry_points_labels: true,
        routers_labels: false,
        services_labels: true,
    };
    let cfg = hub.cfg.observe.prometheus.as_ref().unwrap_or(&default);
    let m = hub.merged();
    let mut out = String::with_capacity(16 * 1024);
    if let Some(state) = hub.control() {
        let ok = state.last_reload_success();
        gauge(
            &mut out,
            "config_reloads_total",
            "counter",
            "Config reloads that were applied.",
            state.reloads_ok() as f64,
        );
        gauge(
            &mut out,
            "config_reloads_failure_total",
            "counter",
            "Config reloads that were refused.",
            state.reloads_failed() as f64,
        );
        gauge(
            &mut out,
            "config_last_reload_success",
            "gauge",
            "Whether the last config reload succeeded (1) or was refused (0).",
            f64::from(u8::from(ok)),
        );
        let ts = state.last_success_unix_ms() as f64 / 1000.0;
        gauge(
            &mut out,
            "config_last_reload_success_timestamp_seconds",
            "gauge",
            "Unix time of the last applied config.",
            ts,
        );
        provider_up(&mut out, &state.providers_up());
    }
    if cfg.entry_points_labels {
        header(
            &mut out,
            "open_connections",
            "gauge",
            "Open client connections per entry point.",
        );
        for (ep, n) in hub.cfg.entry_points.iter().zip(&m.open) {
            let _ = writeln!(
                out,
                "proxyd_open_connections{{entrypoint=\"{}\",protocol=\"TCP\"}} {n}",
                esc(&ep.name)
            );
        }
        per_entry_point(
            &mut out,
            hub,
            "entrypoint_accept_errors_total",
            "Failed accepts per entry point (e.g. out of file descriptors).",
            &m.accept_errors,
        );
        per_entry_point(
            &mut out,
            hub,
            "entrypoint_refused_connections_total",
            "Connections refused per entry point because maxConnections was reached.",
            &m.refused,
        );
        families(&mut out, "entrypoint", &m.entry_points, cfg, |f| {
            format!("entrypoint=\"{}\"", esc(&f.name))
        });
    }
    if cfg.routers_labels {
        let routers: Vec<Family> = m
            .routers
            .into_iter()
            .filter(|f| !is_admin(&f.name))
            .collect();
        families(&mut out, "router", &routers, cfg, |f| {
            format!(
                "router=\"{}\",service=\"{}\"",
                esc(&f.name),
                esc(&f.service)
            )
        });
    }
    if cfg.services_labels {
        let services: Vec<Family> = m
            .services
            .into_iter()
            .filter(|f| !is_admin(&f.name))
            .collect();
        families(&mut out, "service", &services, cfg, |f| {
            format!("service=\"{}\"", esc(&f.name))
        });
        header(
            &mut out,
            "service_server_up",
            "gauge",
            "Server health (1 up, 0 down), as the last health check or failed requests (passive) left it; 1 without either.",
        );
        for s in &snap.services {
            if let ServiceKind::LoadBalancer(lb) = &s.kind {
                for (i, server) in lb.servers.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "proxyd_service_server_up{{service=\"{}\",url=\"{}\"}} {}",
                        esc(&s.name),
                        esc(&server.url),
                        u8::from(lb.server_up(i))
                    );
                }
            }
        }
    }
    header(
        &mut out,
        "tls_handshakes_total",
        "counter",
        "Completed TLS handshakes with clients, full or resumed (a session ticket).",
    );
    for (resumed, n) in ["false", "true"].iter().zip(m.tls_handshakes) {
        let _ = writeln!(
            out,
            "proxyd_tls_handshakes_total{{resumed=\"{resumed}\"}} {n}"
        );
    }
    gauge(
        &mut out,
        "parked_connections",
        "gauge",
        "Idle keep-alive connections waiting in the workers' parking lots (no task, no buffer).",
        m.parked as f64,
    );
    if hub.cfg.observe.access_log.is_some() {
        gauge(
            &mut out,
            "accesslog_lines_total",
            "counter",
            "Access-log lines written.",
            m.log_lines as f64,
        );
        gauge(
            &mut out,
            "accesslog_dropped_lines_total",
            "counter",
            "Access-log lines lost to write errors.",
            m.log_dropped as f64,
        );
    }
    out.into_bytes()
}

fn per_entry_point(out: &mut String, hub: &Hub, name: &str, help: &str, values: &[u64]) {
    header(out, name, "counter", help);
    for (ep, n) in hub.cfg.entry_points.iter().zip(values) {
        let _ = writeln!(out, "proxyd_{name}{{entrypoint=\"{}\"}} {n}", esc(&ep.name));
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP proxyd_{name} {help}\n# TYPE proxyd_{name} {kind}"
    );
}

fn gauge(out: &mut String, name: &str, kind: &str, help: &str, v: f64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "proxyd_{name} {v}");
}

type SeriesValue = fn(&super::metrics::Series) -> u64;

/// requests_total, request_duration_seconds, requests_bytes_total and
/// responses_bytes_total for one level (entrypoint, router or service).
fn families(
    out: &mut String,
    level: &str,
    fams: &[Family],
    cfg: &PrometheusConfig,
    labels: impl Fn(&Family) -> String,
) {
    let counters: [(&str, &str, SeriesValue); 3] = [
        ("requests_total", "HTTP requests processed", |s| s.count),
        ("requests_bytes_total", "Request body bytes received", |s| {
            s.req_bytes
        }),
        ("responses_bytes_total", "Response body bytes sent", |s| {
            s.resp_bytes
        }),
    ];
    for (suffix, help, value) in counters {
        let name = format!("{level}_{suffix}");
        header(
            out,
            &name,
            "counter",
            &format!("{help} per {level}, by status code, method and protocol."),
        );
        for f in fams {
            let l = labels(f);
            for s in &f.series {
                let _ = writeln!(
                    out,
                    "proxyd_{name}{{code=\"{}\",method=\"{}\",protocol=\"{}\",{l}}} {}",
                    s.code,
                    s.method.as_str(),
                    s.proto.as_str(),
                    value(s)
                );
            }
        }
    }
    let name = format!("{level}_request_duration_seconds");
    header(
        out,
        &name,
        "histogram",
        &format!("Request latency per {level}, from a complete head to the end of the response."),
    );
    for f in fams {
        let l = labels(f);
        for b in &cfg.buckets {
            let n = f.hist.count_between(0, (b * 1e6) as u64);
            let _ = writeln!(out, "proxyd_{name}_bucket{{{l},le=\"{b}\"}} {n}");
        }
        let total = f.count();
        let _ = writeln!(out, "proxyd_{name}_bucket{{{l},le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "proxyd_{name}_sum{{{l}}} {}", f.sum_us as f64 / 1e6);
        let _ = writeln!(out, "proxyd_{name}_count{{{l}}} {total}");
    }
}

/// Label value escaping of the text format.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
