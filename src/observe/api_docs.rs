//! The JSON documents of the API, shaped like Traefik's: routers and services with
//! `status` (enabled / disabled / warning), `error`, `using` / `usedBy`,
//! `serverStatus`, plus the overview, entry points and proxyd's own stats for the
//! dashboard.
//!
//! proxyd refuses a broken dynamic config as a whole and keeps serving the last good
//! one, so a "broken router" is one named by the last refused reload's errors: listed
//! as `disabled` with its errors if it is not serving, or `warning` if an older
//! definition of it still serves.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::{ConfigError, ServiceKind, Snapshot};

use super::Hub;
use super::metrics::Family;
use super::prometheus::is_admin;

/// Errors of the last refused reload by qualified name, for `section`
/// (`http.routers` or `http.services`). Empty when the last reload succeeded.
fn broken(hub: &Hub, section: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(state) = hub.control().filter(|s| !s.last_reload_success()) else {
        return out;
    };
    for e in state.last_errors() {
        if let Some(rest) = e
            .key
            .strip_prefix(section)
            .and_then(|r| r.strip_prefix('.'))
        {
            let name = rest.split('.').next().unwrap_or(rest);
            out.entry(crate::config::qualified(name))
                .or_default()
                .push(message(&e));
        }
    }
    out
}

fn message(e: &ConfigError) -> String {
    format!("{}: {}: {}", e.file, e.key, e.reason)
}

/// The overview's provider list, in Traefik's spelling.
fn providers(cfg: &crate::config::StaticConfig) -> Vec<&'static str> {
    let kv = cfg.kv.iter().map(|p| match p.store {
        crate::config::KvStore::Redis => "Redis",
        crate::config::KvStore::Etcd => "Etcd",
    });
    std::iter::once("File").chain(kv).collect()
}

fn provider(name: &str) -> &str {
    name.rsplit_once('@').map_or("file", |(_, p)| p)
}

pub fn routers(hub: &Hub, snap: &Snapshot) -> Vec<Value> {
    let mut errors = broken(hub, "http.routers");
    let out: Vec<Value> = snap
        .routers
        .iter()
        .map(|r| {
            let mut doc = json!({
                "entryPoints": r.entry_points,
                "service": snap.services[r.service].name,
                "rule": r.rule,
                "priority": r.priority,
                "status": "enabled",
                "using": r.entry_points,
                "name": r.name,
                "provider": provider(&r.name),
            });
            if !r.middlewares.is_empty() {
                let names: Vec<&str> = (r.middlewares.iter())
                    .map(|&m| snap.middlewares[m as usize].name.as_str())
                    .collect();
                doc["middlewares"] = names.into();
            }
            warn(&mut doc, &mut errors, &r.name);
            doc
        })
        .collect();
    with_disabled(out, errors, "using")
}

pub fn services(hub: &Hub, snap: &Snapshot) -> Vec<Value> {
    let mut errors = broken(hub, "http.services");
    let out: Vec<Value> = snap
        .services
        .iter()
        .enumerate()
        .map(|(id, s)| {
            let used_by: Vec<&str> = snap
                .routers
                .iter()
                .filter(|r| r.service == id)
                .map(|r| r.name.as_str())
                .collect();
            let mut doc = json!({
                "status": "enabled",
                "usedBy": used_by,
                "name": s.name,
                "provider": provider(&s.name),
            });
            match &s.kind {
                ServiceKind::LoadBalancer(lb) => {
                    let servers: Vec<Value> = lb
                        .servers
                        .iter()
                        .map(|x| json!({"url": x.url, "weight": x.weight}))
                        .collect();
                    // As the prober last saw each server, DOWN while failed requests hold it
                    // down (passiveHealthCheck); UP without either check.
                    let status: BTreeMap<&str, &str> = (lb.servers.iter().enumerate())
                        .map(|(i, x)| (x.url.as_str(), if lb.server_up(i) { "UP" } else { "DOWN" }))
                        .collect();
                    doc["loadBalancer"] =
                        json!({"servers": servers, "passHostHeader": lb.pass_host_header});
                    if let Some(hc) = &lb.health_check {
                        doc["loadBalancer"]["healthCheck"] = health_check(hc);
                    }
                    doc["serverStatus"] = json!(status);
                    doc["type"] = "loadbalancer".into();
                }
                ServiceKind::Weighted(w) => {
                    let children: Vec<Value> = (w.services.iter())
                        .map(|c| json!({"name": c.name, "weight": c.weight}))
                        .collect();
                    doc["weighted"] = json!({"services": children});
                    if let Some(s) = &w.sticky {
                        doc["weighted"]["sticky"] = json!({"cookie": {"name": s.name}});
                    }
                    if w.health_check {
                        doc["weighted"]["healthCheck"] = json!({});
                    }
                    doc["type"] = "weighted".into();
                }
                ServiceKind::Mirroring(m) => {
                    let mirrors: Vec<Value> = (m.mirrors.iter())
                        .map(|x| json!({"name": x.name, "percent": x.percent}))
                        .collect();
                    doc["mirroring"] = json!({
                        "service": m.service_name,
                        "mirrorBody": m.mirror_body,
                        "maxBodySize": m.max_body_size,
                        "mirrors": mirrors,
                    });
                    if m.health_check {
                        doc["mirroring"]["healthCheck"] = json!({});
                    }
                    doc["type"] = "mirroring".into();
                }
                ServiceKind::Failover(f) => {
                    doc["failover"] =
                        json!({"service": f.service_name, "fallback": f.fallback_name});
                    if f.health_check {
                        doc["failover"]["healthCheck"] = json!({});
                    }
                    doc["type"] = "failover".into();
                }
                _ => doc["type"] = "internal".into(),
            }
            warn(&mut doc, &mut errors, &s.name);
            doc
        })
        .collect();
    with_disabled(out, errors, "usedBy")
}

/// Traefik's middleware documents: name, type (lower case, as Traefik's API
/// writes it), provider, and the routers whose chains run it (an entry
/// point's middlewares count for each of its routers, as they run there).
pub fn middlewares(hub: &Hub, snap: &Snapshot) -> Vec<Value> {
    let mut errors = broken(hub, "http.middlewares");
    let out: Vec<Value> = (snap.middlewares.iter().enumerate())
        .map(|(id, m)| {
            let id = id as u32;
            let used_by: Vec<&str> = (snap.routers.iter())
                .filter(|r| {
                    r.middlewares.contains(&id)
                        || r.entry_points.iter().any(|ep| {
                            let i = hub.cfg.entry_points.iter().position(|e| &e.name == ep);
                            i.is_some_and(|i| snap.entry_chains[i].contains(&id))
                        })
                })
                .map(|r| r.name.as_str())
                .collect();
            let mut doc = json!({
                "name": m.name,
                "type": m.kind.type_name().to_ascii_lowercase(),
                "status": "enabled",
                "usedBy": used_by,
                "provider": provider(&m.name),
            });
            warn(&mut doc, &mut errors, &m.name);
            doc
        })
        .collect();
    with_disabled(out, errors, "usedBy")
}

/// The health check as Traefik's API shows it (durations in Go's form).
fn health_check(hc: &crate::config::HealthCheck) -> Value {
    let mut doc = json!({
        "path": hc.path,
        "method": hc.method,
        "interval": format!("{:?}", hc.interval),
        "unhealthyInterval": format!("{:?}", hc.unhealthy_interval),
        "timeout": format!("{:?}", hc.timeout),
        "followRedirects": hc.follow_redirects,
    });
    if hc.grpc {
        doc["mode"] = "grpc".into();
    }
    if let Some(h) = &hc.hostname {
        doc["hostname"] = h.as_str().into();
    }
    if let Some(p) = hc.port {
        doc["port"] = p.into();
    }
    if let Some(s) = hc.status {
        doc["status"] = s.into();
    }
    if !hc.headers.is_empty() {
        let headers: BTreeMap<&str, &str> = hc
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        doc["headers"] = json!(headers);
    }
    doc
}

/// A loaded object that a refused reload would have changed: `warning`, with
/// the errors.
fn warn(doc: &mut Value, errors: &mut BTreeMap<String, Vec<String>>, name: &str) {
    if let Some(errs) = errors.remove(name) {
        doc["status"] = "warning".into();
        doc["error"] = errs.into();
    }
}

/// The list, plus a `disabled` document for each object only a refused reload
/// defines (`users`: the list key naming what uses it, empty), sorted by name.
fn with_disabled(
    mut out: Vec<Value>,
    errors: BTreeMap<String, Vec<String>>,
    users: &str,
) -> Vec<Value> {
    for (name, errs) in errors {
        let mut doc = json!({
            "status": "disabled",
            "error": errs,
            "provider": provider(&name),
            "name": name,
        });
        doc[users] = json!([]);
        out.push(doc);
    }
    sort(out)
}

fn sort(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    v
}

fn counts(items: &[Value]) -> Value {
    let n = |s: &str| items.iter().filter(|i| i["status"] == s).count();
    json!({"total": items.len(), "warnings": n("warning"), "errors": n("disabled")})
}

pub fn overview(hub: &Hub, snap: &Snapshot) -> Value {
    let zero = json!({"total": 0, "warnings": 0, "errors": 0});
    let obs = &hub.cfg.observe;
    json!({
        "http": {
            "routers": counts(&routers(hub, snap)),
            "services": counts(&services(hub, snap)),
            "middlewares": counts(&middlewares(hub, snap)),
        },
        "tcp": {"routers": zero, "services": zero, "middlewares": zero},
        "udp": {"routers": zero, "services": zero},
        "features": {
            "tracing": "",
            "metrics": if obs.prometheus.is_some() { "Prometheus" } else { "" },
            "accessLog": obs.access_log.is_some(),
        },
        "providers": providers(&hub.cfg),
    })
}

pub fn entry_points(hub: &Hub) -> Vec<Value> {
    hub.cfg
        .entry_points
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "address": hub.bound(i).unwrap_or(e.address).to_string(),
                "transport": {
                    "lifeCycle": {
                        "requestAcceptGraceTimeout": format!("{:?}", e.request_accept_grace_timeout),
                        "graceTimeOut": format!("{:?}", e.grace_timeout),
                    },
                    "respondingTimeouts": {
                        "readTimeout": e.read_timeout.map(|d| format!("{d:?}")),
                        "writeTimeout": e.write_timeout.map(|d| format!("{d:?}")),
                        "idleTimeout": e.idle_timeout.map(|d| format!("{d:?}")),
                    },
                },
                "forwardedHeaders": {"insecure": e.forwarded_insecure, "trustedIPs": e.trusted_ips.iter().map(|n| n.to_string()).collect::<Vec<_>>()},
                "http": {"maxHeaderBytes": e.max_header_bytes},
                "name": e.name,
            })
        })
        .collect()
}

pub fn rawdata(hub: &Hub, snap: &Snapshot) -> Value {
    let by_name = |v: Vec<Value>| -> serde_json::Map<String, Value> {
        v.into_iter()
            .map(|d| (d["name"].as_str().unwrap_or_default().to_string(), d))
            .collect()
    };
    json!({
        "routers": by_name(routers(hub, snap)),
        "services": by_name(services(hub, snap)),
        "middlewares": by_name(middlewares(hub, snap)),
        "tcpRouters": {},
        "tcpServices": {},
        "tcpMiddlewares": {},
    })
}

/// proxyd's own document for the dashboard: latency and counts per router and
/// service, open connections, reload history.
pub fn stats(hub: &Hub) -> Value {
    let m = hub.merged();
    let fam = |fams: &[Family]| -> Vec<Value> {
        fams.iter()
            .filter(|f| !is_admin(&f.name))
            .map(|f| {
                let ms = |q: f64| f.hist.value_at_quantile(q) as f64 / 1000.0;
                let mut codes: BTreeMap<String, u64> = BTreeMap::new();
                for s in &f.series {
                    *codes.entry(s.code.to_string()).or_default() += s.count;
                }
                json!({"name": f.name, "requests": f.count(), "p50_ms": ms(0.5), "p99_ms": ms(0.99), "codes": codes})
            })
            .collect()
    };
    let open: Vec<Value> = hub
        .cfg
        .entry_points
        .iter()
        .zip(&m.open)
        .map(|(e, n)| json!({"name": e.name, "open": n}))
        .collect();
    let reloads = hub.control().map(|s| {
        let history: Vec<Value> = s
            .history()
            .iter()
            .map(|h| json!({"unix_ms": h.unix_ms, "ok": h.ok, "error": h.error}))
            .collect();
        json!({
            "ok": s.reloads_ok(), "failed": s.reloads_failed(),
            "last_success": s.last_reload_success(),
            "last_success_unix_ms": s.last_success_unix_ms(),
            "last_error": s.last_error(),
            "history": history,
        })
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    json!({
        "now_ms": now,
        "entrypoints": open,
        "routers": fam(&m.routers),
        "services": fam(&m.services),
        "reloads": reloads,
        "accessLog": {"lines": m.log_lines, "dropped": m.log_dropped},
    })
}
