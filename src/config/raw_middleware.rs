//! Serde model of `http.middlewares.<name>` as written (Traefik key names,
//! camelCase, unknown keys refused). Each definition names exactly one type.
//! Traefik types proxyd does not run yet are not fields here, so they are
//! refused with "not supported yet" through the Traefik key table.

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
