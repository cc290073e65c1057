//! Serde model of the static `certificatesResolvers` section, as Traefik v3
//! spells it (unknown keys refused). Keys proxyd does not implement are
//! accepted here and refused with "not supported yet" by `static_acme`.

use serde::Deserialize;

use super::duration::ConfigDuration;

/// `certificatesResolvers.<name>`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawResolver {
    pub acme: Option<RawAcme>,
    pub tailscale: Option<toml::Value>,
}

/// `certificatesResolvers.<name>.acme`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAcme {
    pub email: Option<String>,
    pub ca_server: Option<String>,
    pub preferred_chain: Option<String>,
    pub profile: Option<String>,
    pub email_addresses: Option<Vec<String>>,
    pub disable_common_name: Option<bool>,
    pub storage: Option<String>,
    pub key_type: Option<String>,
    pub eab: Option<RawEab>,
    pub certificates_duration: Option<i64>,
    pub client_timeout: Option<ConfigDuration>,
    pub client_response_header_timeout: Option<ConfigDuration>,
    pub certificate_timeout: Option<ConfigDuration>,
    pub ca_certificates: Option<Vec<String>>,
    pub ca_system_cert_pool: Option<bool>,
    pub ca_server_name: Option<String>,
    pub dns_challenge: Option<toml::Value>,
    pub http_challenge: Option<RawHttpChallenge>,
    pub tls_challenge: Option<RawTlsChallenge>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEab {
    pub kid: Option<String>,
    pub hmac_encoded: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHttpChallenge {
    pub entry_point: Option<String>,
    pub delay: Option<ConfigDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTlsChallenge {
    pub delay: Option<ConfigDuration>,
}

/// `tls.domains[]` of a router or an entry point.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDomain {
    pub main: Option<String>,
    #[serde(default)]
    pub sans: Vec<String>,
}
