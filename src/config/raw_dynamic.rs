//! Serde model of one dynamic file, exactly as written (Traefik key names,
//! camelCase, unknown keys refused). Required keys are `Option` here so that a
//! missing one is reported with its full key path, alongside every other error.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::ConfigDuration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDynamic {
    pub http: Option<RawHttp>,
    pub tcp: Option<super::raw_tls::RawTcp>,
    pub tls: Option<super::raw_tls::RawTls>,
    // Traefik sections proxyd does not implement yet; see `unsupported()`.
    pub udp: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHttp {
    #[serde(default)]
    pub routers: BTreeMap<String, RawRouter>,
    #[serde(default)]
    pub services: BTreeMap<String, RawService>,
    #[serde(default)]
    pub servers_transports: BTreeMap<String, RawServersTransport>,
    #[serde(default)]
    pub middlewares: BTreeMap<String, super::raw_middleware::RawMiddleware>,
}

impl RawDynamic {
    /// Keys of the unsupported sections that have content. An empty table
    /// changes nothing, so it is accepted.
    pub fn unsupported(&self) -> Vec<&'static str> {
        let present = |v: &Option<toml::Value>| v.as_ref().is_some_and(not_empty);
        [("udp", present(&self.udp))]
            .into_iter()
            .filter_map(|(key, p)| p.then_some(key))
            .collect()
    }
}

fn not_empty(v: &toml::Value) -> bool {
    v.as_table().is_none_or(|t| !t.is_empty())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRouter {
    pub rule: Option<String>,
    pub service: Option<String>,
    pub entry_points: Option<Vec<String>>,
    pub priority: Option<i64>,
    #[serde(default)]
    pub middlewares: Vec<String>,
    pub tls: Option<super::raw_tls::RawRouterTls>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawService {
    pub load_balancer: Option<RawLoadBalancer>,
    /// proxyd extension: a fixed response.
    pub respond: Option<RawRespond>,
    pub weighted: Option<RawWeighted>,
    pub failover: Option<RawFailover>,
    pub mirroring: Option<RawMirroring>,
}

/// `mirroring`: a service and its mirrors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMirroring {
    pub service: Option<String>,
    pub mirror_body: Option<bool>,
    pub max_body_size: Option<i64>,
    #[serde(default)]
    pub mirrors: Vec<RawMirrorService>,
    pub health_check: Option<RawServiceHealthCheck>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMirrorService {
    pub name: Option<String>,
    pub percent: Option<i64>,
}

/// `weighted`: services by weight.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWeighted {
    #[serde(default)]
    pub services: Vec<RawWrrService>,
    pub sticky: Option<RawSticky>,
    pub health_check: Option<RawServiceHealthCheck>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWrrService {
    pub name: Option<String>,
    pub weight: Option<i64>,
}

/// `failover`: a service and its fallback.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFailover {
    pub service: Option<String>,
    pub fallback: Option<String>,
    pub health_check: Option<RawServiceHealthCheck>,
    /// Traefik's status-based failover.
    pub errors: Option<RawFailoverErrors>,
}

/// `failover.errors`: the main service's answers with these statuses go to
/// the fallback instead.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFailoverErrors {
    #[serde(default)]
    pub status: Vec<String>,
    pub max_request_body_bytes: Option<i64>,
}

/// Traefik's service-level `healthCheck`: an empty table that turns on the
/// following of the children's state.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServiceHealthCheck {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLoadBalancer {
    #[serde(default)]
    pub servers: Vec<RawServer>,
    pub pass_host_header: Option<bool>,
    pub servers_transport: Option<String>,
    pub health_check: Option<RawHealthCheck>,
    pub passive_health_check: Option<RawPassiveHealthCheck>,
    pub response_forwarding: Option<RawResponseForwarding>,
    pub strategy: Option<String>,
    pub sticky: Option<RawSticky>,
}

/// `loadBalancer.sticky`: only cookies, as in Traefik.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSticky {
    pub cookie: Option<RawCookie>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCookie {
    pub name: Option<String>,
    pub secure: Option<bool>,
    pub http_only: Option<bool>,
    pub same_site: Option<String>,
    pub max_age: Option<i64>,
    pub path: Option<String>,
    pub domain: Option<String>,
}

/// `loadBalancer.responseForwarding`. A duration, or a negative number (or
/// text such as `"-1"`) for "flush after every write".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawResponseForwarding {
    pub flush_interval: Option<RawFlushInterval>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawFlushInterval {
    Number(i64),
    Text(String),
}

/// Traefik's `ServerHealthCheck`. Numbers are signed so that a negative one
/// gets proxyd's own error naming the key, not a serde type error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHealthCheck {
    pub scheme: Option<String>,
    pub mode: Option<String>,
    pub path: Option<String>,
    pub method: Option<String>,
    pub status: Option<i64>,
    pub port: Option<i64>,
    pub interval: Option<ConfigDuration>,
    pub unhealthy_interval: Option<ConfigDuration>,
    pub timeout: Option<ConfigDuration>,
    pub hostname: Option<String>,
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Traefik's `PassiveServerHealthCheck`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPassiveHealthCheck {
    pub failure_window: Option<ConfigDuration>,
    pub max_failed_attempts: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawServer {
    pub url: Option<String>,
    pub weight: Option<u32>,
    pub preserve_path: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRespond {
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawServersTransport {
    pub max_idle_conns_per_host: Option<u64>,
    pub forwarding_timeouts: Option<RawForwardingTimeouts>,
    // TLS to `https://` servers (`config/transport_tls.rs`).
    pub server_name: Option<String>,
    pub insecure_skip_verify: Option<bool>,
    #[serde(rename = "rootCAs")]
    pub root_cas: Option<Vec<String>>,
    pub certificates: Option<Vec<super::transport_tls::RawClientCert>>,
    pub cipher_suites: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    #[serde(rename = "disableHTTP2")]
    pub disable_http2: Option<bool>,
    #[serde(rename = "peerCertURI")]
    pub peer_cert_uri: Option<String>,
    #[serde(rename = "peerCertSANs")]
    pub peer_cert_sans: Option<Vec<super::transport_verify::RawSan>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawForwardingTimeouts {
    pub dial_timeout: Option<ConfigDuration>,
    pub response_header_timeout: Option<ConfigDuration>,
    pub idle_conn_timeout: Option<ConfigDuration>,
    /// proxyd extension (nginx's `proxy_read_timeout`).
    pub read_timeout: Option<ConfigDuration>,
    /// proxyd extension (nginx's `proxy_send_timeout`).
    pub write_timeout: Option<ConfigDuration>,
}
