//! Serde model of `passTLSClientCert`: which parts of the client
//! certificate are passed on (the subject's and issuer's name parts).

use serde::Deserialize;

/// `passTLSClientCert`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPassTlsClientCert {
    #[serde(default)]
    pub pem: bool,
    pub info: Option<RawTlsCertInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTlsCertInfo {
    #[serde(default)]
    pub not_after: bool,
    #[serde(default)]
    pub not_before: bool,
    #[serde(default)]
    pub sans: bool,
    #[serde(default)]
    pub serial_number: bool,
    pub subject: Option<RawSubjectDn>,
    pub issuer: Option<RawIssuerDn>,
}

/// The subject's name parts (the issuer's lack `organizationalUnit`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSubjectDn {
    #[serde(default)]
    pub country: bool,
    #[serde(default)]
    pub province: bool,
    #[serde(default)]
    pub locality: bool,
    #[serde(default)]
    pub organization: bool,
    #[serde(default)]
    pub organizational_unit: bool,
    #[serde(default)]
    pub common_name: bool,
    #[serde(default)]
    pub serial_number: bool,
    #[serde(default)]
    pub domain_component: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawIssuerDn {
    #[serde(default)]
    pub country: bool,
    #[serde(default)]
    pub province: bool,
    #[serde(default)]
    pub locality: bool,
    #[serde(default)]
    pub organization: bool,
    #[serde(default)]
    pub common_name: bool,
    #[serde(default)]
    pub serial_number: bool,
    #[serde(default)]
    pub domain_component: bool,
}
