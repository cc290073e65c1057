//! Serde model of the dynamic `tls` and `tcp` sections and of a router's `tls`,
//! exactly as Traefik spells them (unknown keys refused). Keys Traefik has but
//! proxyd does not implement are accepted here and refused with "not supported
//! yet" at compile time.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTls {
    #[serde(default)]
    pub certificates: Vec<RawCertificate>,
    #[serde(default)]
    pub options: BTreeMap<String, RawTlsOptions>,
    #[serde(default)]
    pub stores: BTreeMap<String, RawStore>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCertificate {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    #[serde(default)]
    pub stores: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTlsOptions {
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    pub alpn_protocols: Option<Vec<String>>,
    pub sni_strict: Option<bool>,
    pub client_auth: Option<RawClientAuth>,
    pub curve_preferences: Option<Vec<String>>,
    /// Deprecated in Traefik (Go ignores it since 1.17): accepted, no effect.
    #[allow(dead_code)]
    pub prefer_server_cipher_suites: Option<bool>,
    pub disable_session_tickets: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClientAuth {
    #[serde(default)]
    pub ca_files: Vec<String>,
    pub client_auth_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStore {
    pub default_certificate: Option<RawStoreCertificate>,
    pub default_generated_cert: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStoreCertificate {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

/// `http.routers.<n>.tls`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRouterTls {
    pub options: Option<String>,
    pub cert_resolver: Option<String>,
    pub domains: Option<Vec<super::raw_acme::RawDomain>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcp {
    #[serde(default)]
    pub routers: BTreeMap<String, RawTcpRouter>,
    #[serde(default)]
    pub services: BTreeMap<String, RawTcpService>,
    pub middlewares: Option<toml::Value>,
    pub servers_transports: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcpRouter {
    pub rule: Option<String>,
    pub service: Option<String>,
    pub entry_points: Option<Vec<String>>,
    pub priority: Option<i64>,
    #[serde(default)]
    pub middlewares: Vec<String>,
    pub tls: Option<RawTcpRouterTls>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcpRouterTls {
    pub passthrough: Option<bool>,
    pub options: Option<String>,
    pub cert_resolver: Option<String>,
    pub domains: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcpService {
    pub load_balancer: Option<RawTcpLoadBalancer>,
    pub weighted: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcpLoadBalancer {
    #[serde(default)]
    pub servers: Vec<RawTcpServer>,
    pub proxy_protocol: Option<toml::Value>,
    pub servers_transport: Option<String>,
    pub termination_delay: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTcpServer {
    pub address: Option<String>,
    pub weight: Option<u32>,
    pub tls: Option<bool>,
}
