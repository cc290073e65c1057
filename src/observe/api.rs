//! `api@internal`: Traefik's read-only API paths over the current snapshot and the
//! merged metrics. Lists take `search` (substring of the name), `status`, `page` and
//! `per_page` (default 100) and answer `X-Next-Page` like Traefik (1 on the last page).

use serde_json::{Value, json};

use crate::config::Snapshot;

use super::serve::{Reply, Request};
use super::{Hub, api_docs};

const JSON: &str = "application/json";
const DEFAULT_PER_PAGE: usize = 100;

pub fn handle(hub: &Hub, snap: &Snapshot, req: &Request) -> Reply {
    let path = req.path.trim_end_matches('/');
    let Some(rest) = path.strip_prefix("/api") else {
        return not_found();
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').splitn(3, '/').collect();
    let (section, name) = match parts.as_slice() {
        [p @ ("http" | "tcp"), kind] => (format!("{p}/{kind}"), None),
        [p @ ("http" | "tcp"), kind, name] => (format!("{p}/{kind}"), Some(decode(name))),
        ["entrypoints", name] => ("entrypoints".to_string(), Some(decode(name))),
        _ => (parts.join("/"), None),
    };
    let list = match section.as_str() {
        "version" => {
            return ok(
                json!({"Version": env!("CARGO_PKG_VERSION"), "Codename": "proxyd", "startDate": start_date(hub)}),
            );
        }
        "overview" => return ok(api_docs::overview(hub, snap)),
        "rawdata" => return ok(api_docs::rawdata(hub, snap)),
        "proxyd/stats" => return ok(api_docs::stats(hub)),
        "entrypoints" => api_docs::entry_points(hub),
        "http/routers" => api_docs::routers(hub, snap),
        "http/services" => api_docs::services(hub, snap),
        "http/middlewares" => api_docs::middlewares(hub, snap),
        "tcp/routers" | "tcp/services" | "tcp/middlewares" => Vec::new(),
        _ => return not_found(),
    };
    match name {
        Some(name) => match list.into_iter().find(|d| d["name"] == name.as_str()) {
            Some(doc) => ok(doc),
            None => Reply::new(
                404,
                JSON,
                format!("{{\"message\":\"{} not found\"}}", escape(&name)),
            ),
        },
        None => page(list, req.query),
    }
}

fn page(list: Vec<Value>, query: &str) -> Reply {
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| decode(v))
    };
    let search = param("search").unwrap_or_default();
    let status = param("status").unwrap_or_default();
    let per_page = param("per_page")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PER_PAGE);
    let page: usize = param("page")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let filtered: Vec<Value> = list
        .into_iter()
        .filter(|d| search.is_empty() || d["name"].as_str().is_some_and(|n| n.contains(&search)))
        .filter(|d| status.is_empty() || d["status"] == status.as_str())
        .collect();
    let start = (page - 1).saturating_mul(per_page);
    if start > 0 && start >= filtered.len() {
        return Reply::new(
            400,
            JSON,
            "{\"message\":\"invalid request: page out of range\"}",
        );
    }
    let end = (start + per_page).min(filtered.len());
    let next = if end < filtered.len() { page + 1 } else { 1 };
    let mut reply = ok(Value::Array(filtered[start..end].to_vec()));
    reply.headers.push(("x-next-page", next.to_string()));
    reply
}

fn ok(v: Value) -> Reply {
    Reply::new(200, JSON, v.to_string())
}

fn not_found() -> Reply {
    Reply::new(404, JSON, "{\"message\":\"not found\"}")
}

fn escape(s: &str) -> String {
    Value::String(s.to_string())
        .to_string()
        .trim_matches('"')
        .to_string()
}

fn start_date(hub: &Hub) -> String {
    let mut out = Vec::new();
    super::access_format::rfc3339(&mut out, hub.started);
    String::from_utf8(out).unwrap_or_default()
}

/// Percent-decoding of a path segment or query value (`+` is a space in queries,
/// harmless in names).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
