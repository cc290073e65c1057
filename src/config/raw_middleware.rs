//! Serde model of `http.middlewares.<name>` as written (Traefik key names,
//! camelCase, unknown keys refused). Each definition names exactly one type.
//! Traefik types proxyd does not run yet are not fields here, so they are
//! refused with "not supported yet" through the Traefik key table. The
//! per-source limits are in `raw_middleware/limits.rs`, `passTLSClientCert`
//! in `raw_middleware/pass_tls_client_cert.rs`.

mod limits;
mod pass_tls_client_cert;

pub use limits::{
    RawInFlightReq, RawRateLimit, RawRateLimitRedis, RawRedisTls, RawSourceCriterion,
};
pub use pass_tls_client_cert::{RawIssuerDn, RawPassTlsClientCert, RawSubjectDn};

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMiddleware {
    pub add_prefix: Option<RawAddPrefix>,
    pub strip_prefix: Option<RawStripPrefix>,
    pub strip_prefix_regex: Option<RawStripPrefixRegex>,
    pub replace_path: Option<RawReplacePath>,
    pub replace_path_regex: Option<RawReplacePathRegex>,
    pub chain: Option<RawChain>,
    pub basic_auth: Option<RawBasicAuth>,
    pub redirect_scheme: Option<RawRedirectScheme>,
    pub redirect_regex: Option<RawRedirectRegex>,
    pub ip_allow_list: Option<RawIpAllowList>,
    pub ip_white_list: Option<RawIpAllowList>,
    pub headers: Option<RawHeaders>,
    pub content_type: Option<RawContentType>,
    pub digest_auth: Option<RawBasicAuth>,
    #[serde(rename = "passTLSClientCert")]
    pub pass_tls_client_cert: Option<RawPassTlsClientCert>,
    pub rate_limit: Option<RawRateLimit>,
    pub in_flight_req: Option<RawInFlightReq>,
    pub retry: Option<RawRetry>,
    pub forward_auth: Option<RawForwardAuth>,
    pub errors: Option<RawErrors>,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    pub compress: Option<RawCompress>,
    pub buffering: Option<RawBuffering>,
    pub grpc_web: Option<RawGrpcWeb>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAddPrefix {
    pub prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStripPrefix {
    #[serde(default)]
    pub prefixes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStripPrefixRegex {
    #[serde(default)]
    pub regex: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReplacePath {
    pub path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReplacePathRegex {
    pub regex: Option<String>,
    pub replacement: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawChain {
    #[serde(default)]
    pub middlewares: Vec<String>,
}

/// `basicAuth` (`digestAuth` has the same keys).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBasicAuth {
    #[serde(default)]
    pub users: Vec<String>,
    pub users_file: Option<String>,
    pub realm: Option<String>,
    pub header_field: Option<String>,
    #[serde(default)]
    pub remove_header: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedirectScheme {
    pub scheme: Option<String>,
    pub port: Option<RawPort>,
    #[serde(default)]
    pub permanent: bool,
}

/// Traefik's port is a string; a bare number is taken too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPort {
    Text(String),
    Number(i64),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedirectRegex {
    pub regex: Option<String>,
    pub replacement: Option<String>,
    #[serde(default)]
    pub permanent: bool,
}

/// `ipAllowList`, and `ipWhiteList` (which has no `rejectStatusCode`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawIpAllowList {
    #[serde(default)]
    pub source_range: Vec<String>,
    pub ip_strategy: Option<RawIpStrategy>,
    pub reject_status_code: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawIpStrategy {
    #[serde(default)]
    pub depth: i64,
    #[serde(default, rename = "excludedIPs")]
    pub excluded_ips: Vec<String>,
    pub ipv6_subnet: Option<i64>,
}

/// `headers`: Traefik's `dynamic.Headers`, key for key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHeaders {
    #[serde(default)]
    pub custom_request_headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub custom_response_headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub access_control_allow_credentials: bool,
    #[serde(default)]
    pub access_control_allow_headers: Vec<String>,
    #[serde(default)]
    pub access_control_allow_methods: Vec<String>,
    #[serde(default)]
    pub access_control_allow_origin_list: Vec<String>,
    #[serde(default)]
    pub access_control_allow_origin_list_regex: Vec<String>,
    #[serde(default)]
    pub access_control_expose_headers: Vec<String>,
    pub access_control_max_age: Option<i64>,
    #[serde(default)]
    pub add_vary_header: bool,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub hosts_proxy_headers: Vec<String>,
    #[serde(default)]
    pub ssl_proxy_headers: std::collections::BTreeMap<String, String>,
    pub sts_seconds: Option<i64>,
    #[serde(default)]
    pub sts_include_subdomains: bool,
    #[serde(default)]
    pub sts_preload: bool,
    #[serde(default, rename = "forceSTSHeader")]
    pub force_sts_header: bool,
    #[serde(default)]
    pub frame_deny: bool,
    #[serde(default)]
    pub custom_frame_options_value: String,
    #[serde(default)]
    pub content_type_nosniff: bool,
    #[serde(default)]
    pub browser_xss_filter: bool,
    #[serde(default, rename = "customBrowserXSSValue")]
    pub custom_browser_xss_value: String,
    #[serde(default)]
    pub content_security_policy: String,
    #[serde(default)]
    pub content_security_policy_report_only: String,
    #[serde(default)]
    pub public_key: String,
    #[serde(default)]
    pub referrer_policy: String,
    #[serde(default)]
    pub permissions_policy: String,
    #[serde(default)]
    pub is_development: bool,
    /// Removed in Traefik v3 (accepted there and ignored): refused with a pointer.
    pub feature_policy: Option<serde::de::IgnoredAny>,
    pub ssl_redirect: Option<serde::de::IgnoredAny>,
    pub ssl_temporary_redirect: Option<serde::de::IgnoredAny>,
    pub ssl_host: Option<serde::de::IgnoredAny>,
    pub ssl_force_host: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawContentType {
    pub auto_detect: Option<bool>,
}

/// `buffering` (oxy's buffer, as Traefik configures it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBuffering {
    pub max_request_body_bytes: Option<i64>,
    pub mem_request_body_bytes: Option<i64>,
    pub max_response_body_bytes: Option<i64>,
    pub mem_response_body_bytes: Option<i64>,
    pub retry_expression: Option<String>,
}

/// `retry`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRetry {
    pub attempts: Option<i64>,
    pub initial_interval: Option<super::duration::ConfigDuration>,
    pub timeout: Option<super::duration::ConfigDuration>,
    #[serde(default)]
    pub status: Vec<String>,
    pub max_request_body_bytes: Option<i64>,
    #[serde(default)]
    pub disable_retry_on_network_error: bool,
    #[serde(default)]
    pub retry_non_idempotent_method: bool,
}

/// `forwardAuth` (Traefik's `tls` is not a field: refused as not supported
/// yet, as are https addresses).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawForwardAuth {
    pub address: Option<String>,
    pub trust_forward_header: Option<bool>,
    #[serde(default)]
    pub auth_response_headers: Vec<String>,
    #[serde(default)]
    pub auth_response_headers_regex: String,
    #[serde(default)]
    pub auth_request_headers: Vec<String>,
    pub max_response_body_size: Option<i64>,
    #[serde(default)]
    pub add_auth_cookies_to_response: Vec<String>,
    #[serde(default)]
    pub header_field: String,
    #[serde(default)]
    pub forward_body: bool,
    pub max_body_size: Option<i64>,
    #[serde(default)]
    pub preserve_location_header: bool,
    #[serde(default)]
    pub preserve_request_method: bool,
    #[serde(rename = "authSigninURL", default)]
    pub auth_signin_url: String,
    pub tls: Option<super::middlewares::RawClientTls>,
}

/// `errors` (Traefik's `ErrorPage`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawErrors {
    #[serde(default)]
    pub status: Vec<String>,
    /// Ordered by key, so a reload that keeps it keeps its fingerprint.
    #[serde(default)]
    pub status_rewrites: std::collections::BTreeMap<String, i64>,
    pub service: Option<String>,
    pub query: Option<String>,
    pub error_request_headers: Option<Vec<String>>,
}

/// `circuitBreaker`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCircuitBreaker {
    pub expression: Option<String>,
    pub check_period: Option<super::duration::ConfigDuration>,
    pub fallback_duration: Option<super::duration::ConfigDuration>,
    pub recovery_duration: Option<super::duration::ConfigDuration>,
    pub response_code: Option<i64>,
}

/// `compress`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCompress {
    #[serde(default)]
    pub excluded_content_types: Vec<String>,
    #[serde(default)]
    pub included_content_types: Vec<String>,
    pub min_response_body_bytes: Option<i64>,
    pub encodings: Option<Vec<String>>,
    pub default_encoding: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawGrpcWeb {
    #[serde(default)]
    pub allow_origins: Vec<String>,
}
