//! Serde model of the per-source limits: `rateLimit` (with its `redis`
//! store and that store's `tls`), `inFlightReq`, and the `sourceCriterion`
//! they share.

use serde::Deserialize;

use super::RawIpStrategy;

/// `rateLimit`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRateLimit {
    pub average: Option<i64>,
    pub period: Option<crate::config::duration::ConfigDuration>,
    pub burst: Option<i64>,
    pub source_criterion: Option<RawSourceCriterion>,
    pub redis: Option<RawRateLimitRedis>,
}

/// `rateLimit.redis`. Defaults in `config/middlewares/rate_limit_redis.rs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRateLimitRedis {
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    pub db: Option<i64>,
    pub pool_size: Option<i64>,
    pub min_idle_conns: Option<i64>,
    pub max_active_conns: Option<i64>,
    pub read_timeout: Option<crate::config::duration::ConfigDuration>,
    pub write_timeout: Option<crate::config::duration::ConfigDuration>,
    pub dial_timeout: Option<crate::config::duration::ConfigDuration>,
    pub tls: Option<RawRedisTls>,
}

/// `rateLimit.redis.tls` (Traefik's `ClientTLS`): file paths or PEM text.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedisTls {
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// `inFlightReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawInFlightReq {
    pub amount: Option<i64>,
    pub source_criterion: Option<RawSourceCriterion>,
}

/// `sourceCriterion` of rateLimit and inFlightReq: at most one of the three.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSourceCriterion {
    pub ip_strategy: Option<RawIpStrategy>,
    #[serde(default)]
    pub request_header_name: String,
    #[serde(default)]
    pub request_host: bool,
}
