//! `loadBalancer.healthCheck`: validating the raw table into a [`HealthCheck`]
//! (every bad key reported, named below `healthCheck`), and carrying each
//! server's health flag from the published snapshot into the next one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::duration::ConfigDuration;
use super::raw_dynamic::RawHealthCheck;
use super::types::{Health, HealthCheck, ServiceKind, Snapshot};
use super::{
    DEFAULT_HEALTH_CHECK_FOLLOW_REDIRECTS, DEFAULT_HEALTH_CHECK_INTERVAL,
    DEFAULT_HEALTH_CHECK_METHOD, DEFAULT_HEALTH_CHECK_TIMEOUT,
};

/// A problem with one key below `healthCheck`: (key, reason).
pub type KeyError = (&'static str, String);

/// Headers the probe writes itself (or, for Go's client, never from the map).
const OWN_HEADERS: &[(&str, &str)] = &[
    ("host", "set `hostname` instead"),
    ("content-length", "the probe has no body"),
    ("transfer-encoding", "the probe has no body"),
    (
        "connection",
        "the probe keeps or closes its connection itself",
    ),
];

/// Validates every key, reporting all bad ones.
pub fn compile(raw: &RawHealthCheck) -> Result<HealthCheck, Vec<KeyError>> {
    let mut errors = Vec::new();
    let e = &mut errors;
    let grpc = take(e, "mode", mode(raw.mode.as_deref())).unwrap_or(false);
    let tls = take(e, "scheme", scheme(raw.scheme.as_deref(), grpc)).flatten();
    let path = raw.path.clone().unwrap_or_default();
    take(e, "path", relative_path(&path));
    let method = raw.method.as_deref().unwrap_or(DEFAULT_HEALTH_CHECK_METHOD);
    take(
        e,
        "method",
        token(method).map_err(|w| format!("{method:?} {w}")),
    );
    let hostname = raw.hostname.clone().filter(|h| !h.is_empty());
    take(
        e,
        "hostname",
        hostname.as_deref().map_or(Ok(()), host_value),
    );
    let status = take(e, "status", nonzero(raw.status, 100, 599));
    let port = take(e, "port", nonzero(raw.port, 1, 65535));
    let interval = take(
        e,
        "interval",
        positive(raw.interval, DEFAULT_HEALTH_CHECK_INTERVAL),
    );
    let unhealthy_default = interval.unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL);
    let unhealthy = take(
        e,
        "unhealthyInterval",
        positive(raw.unhealthy_interval, unhealthy_default),
    );
    let timeout = take(
        e,
        "timeout",
        positive(raw.timeout, DEFAULT_HEALTH_CHECK_TIMEOUT),
    );
    let headers = headers(raw).map_err(|e| errors.push(("headers", e)));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(HealthCheck {
        grpc,
        tls,
        path,
        method: method.to_string(),
        hostname,
        port: port.flatten().map(|p| p as u16),
        interval: interval.unwrap_or_default(),
        unhealthy_interval: unhealthy.unwrap_or_default(),
        timeout: timeout.unwrap_or_default(),
        headers: headers.unwrap_or_default(),
        follow_redirects: raw
            .follow_redirects
            .unwrap_or(DEFAULT_HEALTH_CHECK_FOLLOW_REDIRECTS),
        status: status.flatten().map(|s| s as u16),
    })
}

/// The value, or `None` with the key's error recorded.
fn take<T>(errors: &mut Vec<KeyError>, key: &'static str, r: Result<T, String>) -> Option<T> {
    r.map_err(|why| errors.push((key, why))).ok()
}

/// Whether the probe uses the gRPC health protocol.
fn mode(mode: Option<&str>) -> Result<bool, String> {
    match mode {
        None | Some("http") => Ok(false),
        Some("grpc") => Ok(true),
        Some(other) => Err(format!("must be `http` or `grpc`, got {other:?}")),
    }
}

/// Whether the probe speaks TLS: `None` as the server URL says. `h2c` is
/// clear-text HTTP/2, what a gRPC probe speaks without TLS anyway.
fn scheme(scheme: Option<&str>, grpc: bool) -> Result<Option<bool>, String> {
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("http") => Ok(Some(false)),
        Some("https") => Ok(Some(true)),
        Some("h2c") if grpc => Ok(Some(false)),
        Some("h2c") => {
            Err("`h2c` needs `mode = \"grpc\"`: an HTTP probe speaks HTTP/1.1 (use `http`)".into())
        }
        Some(_) => Err(format!(
            "must be `http` or `https`, got {:?}",
            scheme.unwrap_or("")
        )),
    }
}

/// A relative URL reference (`/health`, `health?full=1`): no scheme, no
/// authority, no fragment, visible ASCII only (it goes on the request line).
fn relative_path(path: &str) -> Result<(), String> {
    let why = if path.starts_with("//") {
        Some("starts with `//`, which names a host")
    } else if path
        .split(['/', '?'])
        .next()
        .is_some_and(|s| s.contains(':'))
    {
        Some("has a scheme")
    } else if path.contains('#') {
        Some("has a fragment")
    } else if !path.bytes().all(|b| b.is_ascii_graphic()) {
        Some("has spaces, control or non-ASCII characters (percent-encode them)")
    } else {
        None
    };
    match why {
        Some(why) => Err(format!(
            "{path:?} {why}: it must be a relative URL such as `/health`"
        )),
        None => Ok(()),
    }
}

/// An RFC 9110 token (method, header name).
fn token(s: &str) -> Result<(), String> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !s.is_empty() && s.bytes().all(tchar) {
        Ok(())
    } else {
        Err("is not a valid HTTP token".into())
    }
}

/// A Host header value: `host[:port]`, an IPv6 literal in brackets.
fn host_value(h: &str) -> Result<(), String> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b);
    if h.bytes().all(ok) {
        Ok(())
    } else {
        Err(format!("{h:?} is not a valid host (`host[:port]`)"))
    }
}

/// `0` or unset means none; otherwise within `min..=max`.
fn nonzero(v: Option<i64>, min: i64, max: i64) -> Result<Option<i64>, String> {
    match v {
        None | Some(0) => Ok(None),
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        Some(n) => Err(format!(
            "must be from {min} to {max} (or 0 for none), got {n}"
        )),
    }
}

fn positive(v: Option<ConfigDuration>, default: Duration) -> Result<Duration, String> {
    match v {
        None => Ok(default),
        Some(d) if d.0.is_zero() => Err("must be above 0".into()),
        Some(d) => Ok(d.0),
    }
}

fn headers(raw: &RawHealthCheck) -> Result<Vec<(String, String)>, String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(raw.headers.len());
    for (name, value) in &raw.headers {
        token(name).map_err(|w| format!("name {name:?} {w}"))?;
        let lower = name.to_ascii_lowercase();
        if let Some((_, why)) = OWN_HEADERS.iter().find(|(n, _)| *n == lower) {
            return Err(format!("`{name}` cannot be set here: {why}"));
        }
        if seen.contains(&lower) {
            return Err(format!("`{name}` is given twice (names ignore case)"));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("the value of `{name}` has a CR, LF or NUL"));
        }
        seen.push(lower);
        out.push((name.clone(), value.trim().to_string()));
    }
    Ok(out)
}

/// Gives each load-balanced server of `next` the health flag of the same server
/// (same service name and URL) in `prev`, the snapshot it replaces, so that a
/// reload keeps a server that is down out of rotation until a probe says
/// otherwise. A service whose health check was removed keeps its new flags
/// (up): the old ones may still get a late verdict from the prober.
/// Must run before `next` is published (its services are not shared yet).
pub fn carry_health(next: &mut Snapshot, prev: &Snapshot) {
    let mut old: HashMap<(&str, &str), (&Health, bool)> = HashMap::new();
    for s in &prev.services {
        if let ServiceKind::LoadBalancer(lb) = &s.kind {
            let checked = lb.health_check.is_some();
            for server in &lb.servers {
                let key = (s.name.as_str(), server.url.as_str());
                old.insert(key, (&server.health, checked));
            }
        }
    }
    for s in &mut next.services {
        let Some(service) = Arc::get_mut(s) else {
            continue;
        };
        let ServiceKind::LoadBalancer(lb) = &mut service.kind else {
            continue;
        };
        let checked = lb.health_check.is_some();
        for server in &mut lb.servers {
            match old.get(&(service.name.as_str(), server.url.as_str())) {
                Some((h, was_checked)) if checked || !was_checked => {
                    server.health = (*h).clone();
                }
                _ => {}
            }
        }
    }
    super::services::carry_passive(next, prev);
}
