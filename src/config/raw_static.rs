//! Serde model of the static config file, exactly as written (Traefik key names,
//! camelCase, unknown keys refused). No defaults or validation here: see
//! `static_cfg.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::ConfigDuration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStatic {
    /// BTreeMap: entry points come out sorted by name, for determinism.
    #[serde(default)]
    pub entry_points: BTreeMap<String, RawEntryPoint>,
    pub providers: Option<RawProviders>,
    pub workers: Option<RawWorkers>,
    pub log: Option<RawLog>,
    // Observability sections: validated by `observe::config` (their own serde shapes).
    pub api: Option<toml::Value>,
    pub ping: Option<toml::Value>,
    pub metrics: Option<toml::Value>,
    pub access_log: Option<toml::Value>,
    // Traefik sections proxyd does not implement yet. Accepted by the parser so
    // that validation can say "not supported yet" instead of "unknown field".
    pub tracing: Option<toml::Value>,
    /// BTreeMap: resolvers in name order, for determinism.
    #[serde(default)]
    pub certificates_resolvers: BTreeMap<String, super::raw_acme::RawResolver>,
}

impl RawStatic {
    /// The unsupported sections present in the file, by key name.
    pub fn unsupported_sections(&self) -> Vec<&'static str> {
        let present = [("tracing", self.tracing.is_some())];
        present
            .iter()
            .filter(|(_, p)| *p)
            .map(|(k, _)| *k)
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEntryPoint {
    pub address: Option<String>,
    pub transport: Option<RawTransport>,
    pub forwarded_headers: Option<RawForwardedHeaders>,
    pub http: Option<RawEntryPointHttp>,
    /// proxyd extension: open connections allowed on this entry point (0: no limit).
    pub max_connections: Option<u64>,
    pub http2: Option<RawHttp2>,
}

/// `entryPoints.<name>.http2` (HTTP/2 from clients).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHttp2 {
    pub max_concurrent_streams: Option<u32>,
    pub max_decoder_header_table_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTransport {
    pub responding_timeouts: Option<RawRespondingTimeouts>,
    pub life_cycle: Option<RawLifeCycle>,
    /// proxyd extension: the largest request body accepted (413 above it).
    pub max_request_body_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRespondingTimeouts {
    pub read_timeout: Option<ConfigDuration>,
    pub write_timeout: Option<ConfigDuration>,
    pub idle_timeout: Option<ConfigDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLifeCycle {
    pub request_accept_grace_timeout: Option<ConfigDuration>,
    /// Traefik spells it `graceTimeOut` (capital O), which camelCase would not produce.
    #[serde(rename = "graceTimeOut")]
    pub grace_timeout: Option<ConfigDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawForwardedHeaders {
    #[serde(default, rename = "trustedIPs")]
    pub trusted_ips: Vec<String>,
    pub insecure: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEntryPointHttp {
    pub max_header_bytes: Option<u64>,
    #[serde(default)]
    pub middlewares: Vec<String>,
    pub tls: Option<RawEntryPointTls>,
    pub redirections: Option<RawRedirections>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEntryPointTls {
    pub options: Option<String>,
    pub cert_resolver: Option<String>,
    pub domains: Option<Vec<super::raw_acme::RawDomain>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedirections {
    pub entry_point: Option<RawRedirectEntryPoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedirectEntryPoint {
    pub to: Option<String>,
    pub scheme: Option<String>,
    pub permanent: Option<bool>,
    pub priority: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawProviders {
    pub file: Option<RawFileProvider>,
    pub redis: Option<super::kv::RawRedisProvider>,
    pub etcd: Option<super::kv::RawEtcdProvider>,
    pub providers_throttle_duration: Option<ConfigDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFileProvider {
    pub directory: Option<String>,
    pub filename: Option<String>,
    pub watch: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWorkers {
    pub cores: Option<u64>,
    pub io_driver: Option<String>,
    pub ring_entries: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLog {
    pub level: Option<String>,
}
