//! Static-config sections of observability (`accessLog`, `metrics.prometheus`, `api`,
//! `ping`) with Traefik's key names and defaults, and the implicit `@internal`
//! routers Traefik creates for them. The raw sections arrive as `toml::Value` from
//! `config/raw_static.rs` so that this module owns its shapes without widening the
//! shared config files.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{EntryPoint, parse_duration};

pub use super::internal::{Internal, check_reference, implicit_routers};

/// Traefik's default entry point for api, ping and metrics.
pub const DEFAULT_ENTRY_POINT: &str = "traefik";
/// Traefik's default Prometheus buckets (seconds).
pub const DEFAULT_BUCKETS: [f64; 4] = [0.1, 0.3, 1.2, 5.0];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObserveConfig {
    pub access_log: Option<AccessLogConfig>,
    pub prometheus: Option<PrometheusConfig>,
    pub api: Option<ApiConfig>,
    pub ping: Option<PingConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Common,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    Keep,
    Drop,
    Redact,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogConfig {
    /// `None`: standard output.
    pub file_path: Option<PathBuf>,
    pub format: LogFormat,
    /// Lines kept in memory before a write (0: write every line at once).
    pub buffering_size: usize,
    /// Inclusive ranges; empty means no status filter.
    pub status_codes: Vec<(u16, u16)>,
    pub retry_attempts: bool,
    pub min_duration: Option<Duration>,
    pub default_mode: FieldMode,
    pub field_names: BTreeMap<String, FieldMode>,
    pub headers_default: FieldMode,
    /// Lower-cased header name → mode.
    pub header_names: BTreeMap<String, FieldMode>,
}

impl AccessLogConfig {
    /// Whether a request passes the filters: no filter, or any filter matches
    /// (Traefik's semantics: the filters are alternatives).
    pub fn keep(&self, status: u16, retries: u8, duration: Duration) -> bool {
        let any =
            !self.status_codes.is_empty() || self.retry_attempts || self.min_duration.is_some();
        !any || self
            .status_codes
            .iter()
            .any(|(a, b)| (*a..=*b).contains(&status))
            || (self.retry_attempts && retries > 0)
            || self.min_duration.is_some_and(|m| duration > m)
    }

    pub fn field_kept(&self, name: &str) -> bool {
        self.field_names
            .get(name)
            .copied()
            .unwrap_or(self.default_mode)
            != FieldMode::Drop
    }

    /// A handful of configured names: a scan beats lower-casing into a new string.
    pub fn header_mode(&self, name: &[u8]) -> FieldMode {
        self.header_names
            .iter()
            .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(name))
            .map_or(self.headers_default, |(_, m)| *m)
    }

    /// Whether any request header can appear in a JSON line.
    pub fn any_header(&self) -> bool {
        self.headers_default != FieldMode::Drop
            || self.header_names.values().any(|m| *m != FieldMode::Drop)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusConfig {
    pub entry_point: String,
    pub buckets: Vec<f64>,
    pub entry_points_labels: bool,
    pub routers_labels: bool,
    pub services_labels: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    pub insecure: bool,
    pub dashboard: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PingConfig {
    pub entry_point: String,
    pub terminating_status_code: u16,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAccessLog {
    file_path: Option<String>,
    format: Option<String>,
    buffering_size: Option<u64>,
    filters: Option<RawFilters>,
    fields: Option<RawFields>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFilters {
    #[serde(default)]
    status_codes: Vec<String>,
    retry_attempts: Option<bool>,
    min_duration: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFields {
    default_mode: Option<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
    headers: Option<RawHeaders>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawHeaders {
    default_mode: Option<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMetrics {
    prometheus: Option<RawPrometheus>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPrometheus {
    entry_point: Option<String>,
    buckets: Option<Vec<f64>>,
    add_entry_points_labels: Option<bool>,
    add_routers_labels: Option<bool>,
    add_services_labels: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawApi {
    insecure: Option<bool>,
    dashboard: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPing {
    entry_point: Option<String>,
    terminating_status_code: Option<u16>,
}

/// The raw sections as the static file has them.
pub struct RawSections<'a> {
    pub access_log: Option<&'a toml::Value>,
    pub metrics: Option<&'a toml::Value>,
    pub api: Option<&'a toml::Value>,
    pub ping: Option<&'a toml::Value>,
}

/// Validates the sections; every problem goes to `push(key, reason)`.
pub fn validate(
    raw: RawSections,
    eps: &[EntryPoint],
    push: &mut dyn FnMut(String, String),
) -> ObserveConfig {
    let ep_check = |key: &str, name: Option<String>, push: &mut dyn FnMut(String, String)| {
        let name = name.unwrap_or_else(|| DEFAULT_ENTRY_POINT.to_string());
        if !eps.iter().any(|e| e.name == name) {
            push(
                key.to_string(),
                format!("entry point `{name}` is not defined in entryPoints"),
            );
        }
        name
    };
    let access_log =
        parse::<RawAccessLog>("accessLog", raw.access_log, push).and_then(|r| access_log(r, push));
    let prometheus = parse::<RawMetrics>("metrics", raw.metrics, push)
        .and_then(|m| m.prometheus)
        .map(|p| {
            let buckets = p.buckets.unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
            if buckets.is_empty() || buckets.windows(2).any(|w| w[0] >= w[1]) || buckets[0] <= 0.0 {
                push(
                    "metrics.prometheus.buckets".into(),
                    "must be positive and increasing".into(),
                );
            }
            PrometheusConfig {
                entry_point: ep_check("metrics.prometheus.entryPoint", p.entry_point, push),
                buckets,
                entry_points_labels: p.add_entry_points_labels.unwrap_or(true),
                routers_labels: p.add_routers_labels.unwrap_or(false),
                services_labels: p.add_services_labels.unwrap_or(true),
            }
        });
    let api = parse::<RawApi>("api", raw.api, push).map(|a| ApiConfig {
        insecure: a.insecure.unwrap_or(false),
        dashboard: a.dashboard.unwrap_or(true),
    });
    if api.as_ref().is_some_and(|a| a.insecure) {
        ep_check("api.insecure", None, push);
    }
    let ping = parse::<RawPing>("ping", raw.ping, push).map(|p| PingConfig {
        entry_point: ep_check("ping.entryPoint", p.entry_point, push),
        terminating_status_code: p.terminating_status_code.unwrap_or(503),
    });
    ObserveConfig {
        access_log,
        prometheus,
        api,
        ping,
    }
}

/// Every refused key of the section is reported, with its full path.
fn parse<T: serde::de::DeserializeOwned>(
    key: &str,
    v: Option<&toml::Value>,
    push: &mut dyn FnMut(String, String),
) -> Option<T> {
    crate::config::parse_section(key, v?)
        .map_err(|errors| errors.into_iter().for_each(|(k, r)| push(k, r)))
        .ok()
}

fn access_log(r: RawAccessLog, push: &mut dyn FnMut(String, String)) -> Option<AccessLogConfig> {
    let format = match r.format.as_deref().unwrap_or("common") {
        "common" => LogFormat::Common,
        "json" => LogFormat::Json,
        f => {
            push(
                "accessLog.format".into(),
                format!("{f:?}: expected \"common\" or \"json\""),
            );
            return None;
        }
    };
    let filters = r.filters.unwrap_or_default();
    let mut status_codes = Vec::new();
    for s in &filters.status_codes {
        match status_range(s) {
            Some(r) => status_codes.push(r),
            None => push(
                "accessLog.filters.statusCodes".into(),
                format!("{s:?}: expected a status like \"404\" or a range like \"500-599\""),
            ),
        }
    }
    let min_duration = filters.min_duration.and_then(|d| {
        parse_duration(&d)
            .map_err(|e| push("accessLog.filters.minDuration".into(), e))
            .ok()
    });
    let fields = r.fields.unwrap_or_default();
    let headers = fields.headers.unwrap_or_default();
    let mut mode = |key: &str, s: Option<&str>, default: FieldMode, redact: bool| match s {
        None => default,
        Some(m) if m.eq_ignore_ascii_case("keep") => FieldMode::Keep,
        Some(m) if m.eq_ignore_ascii_case("drop") => FieldMode::Drop,
        Some(m) if redact && m.eq_ignore_ascii_case("redact") => FieldMode::Redact,
        Some(m) => {
            push(
                key.into(),
                format!(
                    "{m:?}: expected keep, drop{}",
                    if redact { " or redact" } else { "" }
                ),
            );
            default
        }
    };
    let default_mode = mode(
        "accessLog.fields.defaultMode",
        fields.default_mode.as_deref(),
        FieldMode::Keep,
        false,
    );
    let field_names = fields
        .names
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                mode(
                    &format!("accessLog.fields.names.{k}"),
                    Some(v),
                    FieldMode::Keep,
                    false,
                ),
            )
        })
        .collect();
    let headers_default = mode(
        "accessLog.fields.headers.defaultMode",
        headers.default_mode.as_deref(),
        FieldMode::Drop,
        true,
    );
    let header_names = headers
        .names
        .iter()
        .map(|(k, v)| {
            let key = format!("accessLog.fields.headers.names.{k}");
            (
                k.to_ascii_lowercase(),
                mode(&key, Some(v), FieldMode::Drop, true),
            )
        })
        .collect();
    Some(AccessLogConfig {
        file_path: r.file_path.filter(|p| !p.is_empty()).map(PathBuf::from),
        format,
        buffering_size: r.buffering_size.unwrap_or(0).min(1 << 20) as usize,
        status_codes,
        retry_attempts: filters.retry_attempts.unwrap_or(false),
        min_duration,
        default_mode,
        field_names,
        headers_default,
        header_names,
    })
}

fn status_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.trim().split_once('-').unwrap_or((s.trim(), s.trim()));
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}
