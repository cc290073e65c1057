//! `forwardAuth` definitions → [`ForwardAuth`]: the address parsed and its
//! host resolved here (on the control thread, never on a worker), the regex
//! compiled, sizes checked. An `https://` address speaks TLS with the
//! upstream TLS client: `tls` (Traefik's `ClientTLS`: `ca`, `cert`, `key`,
//! file paths or PEM, and `insecureSkipVerify`) compiles as a servers
//! transport's `rootCAs`, `certificates` and `insecureSkipVerify` would
//! (`transport_tls`), the files read with the dynamic files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::Refusal;
use crate::config::provider::ProviderFiles;
use crate::config::raw_dynamic::RawServersTransport;
use crate::config::raw_middleware::RawForwardAuth;
use crate::config::transport_tls::{self, Extra, RawClientCert};
use crate::config::upstream_url;
use crate::middleware::Middleware;
use crate::middleware::forward_auth::{DEFAULT_MAX_BODY_SIZE, ForwardAuth, canonical_key};
use crate::net::upstream_tls::TlsTarget;

/// `forwardAuth.tls`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClientTls {
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Deprecated in Traefik and without effect there (client authentication
    /// is the server's choice): accepted, and a warning logged.
    pub ca_optional: Option<bool>,
}

impl RawClientTls {
    /// The same settings as a servers transport's TLS keys.
    fn as_transport(&self) -> RawServersTransport {
        let set = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let certificates = (set(&self.cert).is_some() || set(&self.key).is_some()).then(|| {
            vec![RawClientCert {
                cert_file: set(&self.cert),
                key_file: set(&self.key),
            }]
        });
        RawServersTransport {
            insecure_skip_verify: Some(self.insecure_skip_verify),
            root_cas: set(&self.ca).map(|ca| vec![ca]),
            certificates,
            ..RawServersTransport::default()
        }
    }
}

pub(super) fn compile(
    file: &Path,
    m: &RawForwardAuth,
    extra: &Extra,
) -> Result<Middleware, Refusal> {
    let address = m.address.as_deref().unwrap_or("");
    let (https, authority, target) =
        split_address(address).map_err(|why| ("address".into(), why))?;
    let scheme = if https { "https" } else { "http" };
    let url = upstream_url::parse(&format!("{scheme}://{authority}"))
        .map_err(|why| ("address".to_string(), why))?;
    // Resolved once, when the configuration loads (on the control thread).
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(url.host.as_str(), url.port))
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            (
                "address".to_string(),
                format!("cannot resolve `{}`", url.host),
            )
        })?;
    let tls = https
        .then(|| client_tls(file, m.tls.as_ref(), &url.host, extra))
        .transpose()?;
    let regex = match m.auth_response_headers_regex.as_str() {
        "" => None,
        re => Some(regex::Regex::new(re).map_err(|e| {
            (
                "authResponseHeadersRegex".to_string(),
                format!("invalid regular expression: {e}"),
            )
        })?),
    };
    let mut canon = String::new();
    let auth_response_headers = m
        .auth_response_headers
        .iter()
        .map(|h| {
            canonical_key(h.as_bytes(), &mut canon);
            canon.clone()
        })
        .collect();
    Ok(Middleware::ForwardAuth(Box::new(ForwardAuth {
        addr,
        tls,
        authority: url.authority,
        target,
        trust_forward_header: m.trust_forward_header,
        auth_response_headers,
        auth_response_headers_regex: regex,
        auth_request_headers: m.auth_request_headers.clone(),
        max_response_body_size: limit("maxResponseBodySize", m.max_response_body_size)?,
        add_auth_cookies_to_response: m.add_auth_cookies_to_response.clone(),
        forward_body: m.forward_body,
        max_body_size: limit(
            "maxBodySize",
            Some(m.max_body_size.unwrap_or(DEFAULT_MAX_BODY_SIZE)),
        )?,
        preserve_location_header: m.preserve_location_header,
        preserve_request_method: m.preserve_request_method,
        auth_signin_url: (!m.auth_signin_url.is_empty()).then(|| m.auth_signin_url.clone()),
    })))
}

/// The TLS client for an https auth server (`host` is the name sent and
/// verified); without `tls`, the system roots, as Go's default transport.
fn client_tls(
    file: &Path,
    raw: Option<&RawClientTls>,
    host: &str,
    extra: &Extra,
) -> Result<Arc<TlsTarget>, Refusal> {
    if raw.is_some_and(|t| t.ca_optional.is_some()) {
        log::warn!("forwardAuth tls.caOptional is deprecated and has no effect");
    }
    let compiled = match raw {
        Some(t) => transport_tls::compile(file, &t.as_transport(), extra)
            .map_err(|mut e| {
                let (key, why) = e.swap_remove(0);
                (format!("tls.{}", tls_key(&key)), why)
            })?
            .map_or_else(transport_tls::default_tls, Ok),
        None => transport_tls::default_tls(),
    };
    let compiled = compiled.map_err(|why| ("tls".to_string(), why))?;
    transport_tls::target(&compiled, host).map_err(|why| ("address".to_string(), why))
}

/// A transport key → the `tls` key it came from.
fn tls_key(transport_key: &str) -> &str {
    match transport_key.split(['[', '.']).next() {
        Some("rootCAs") => "ca",
        _ if transport_key.ends_with("keyFile") => "key",
        Some("certificates") => "cert",
        Some("insecureSkipVerify") => "insecureSkipVerify",
        _ => transport_key,
    }
}

/// The files `tls.ca`, `tls.cert` and `tls.key` of every forwardAuth name,
/// read with the dynamic files (so replacing one reloads).
pub fn read_tls_files(files: &mut ProviderFiles) {
    let mut paths: Vec<PathBuf> = Vec::new();
    for f in &files.files {
        let Some(http) = f.parsed.as_ref().ok().and_then(|p| p.http.as_ref()) else {
            continue;
        };
        let tls = http
            .middlewares
            .values()
            .filter_map(|m| m.forward_auth.as_ref()?.tls.as_ref());
        let values = tls.flat_map(|t| [&t.ca, &t.cert, &t.key].into_iter().flatten());
        let values = values.filter(|v| !v.is_empty() && !v.trim_start().starts_with("-----BEGIN"));
        paths.extend(values.map(|v| transport_tls::resolve(&f.path, v)));
    }
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        files.extra.push((p, bytes));
    }
    files.extra.sort_by(|a, b| a.0.cmp(&b.0));
    files.extra.dedup_by(|a, b| a.0 == b.0);
}

/// A size limit: negative (Traefik's -1) or unset is none.
fn limit(key: &str, v: Option<i64>) -> Result<Option<u64>, Refusal> {
    match v {
        None => Ok(None),
        Some(n) if n < 0 => Ok(None),
        Some(n) => u64::try_from(n)
            .map(Some)
            .map_err(|_| (key.to_string(), format!("{n} is out of range"))),
    }
}

/// `http(s)://authority[/path][?query]` → (https, authority, target). The
/// target is what the auth request asks for: `/` when the address has no path.
fn split_address(address: &str) -> Result<(bool, String, String), String> {
    if address.is_empty() {
        return Err("missing: the authentication server's URL is required".into());
    }
    let (scheme, rest) = address
        .split_once("://")
        .ok_or_else(|| format!("{address:?} is not a URL (expected http://host[:port][/path])"))?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        other => {
            return Err(format!(
                "scheme {other:?} is not supported (use http or https)"
            ));
        }
    };
    let rest = rest.split('#').next().unwrap_or("");
    let at = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(at);
    if target.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(format!(
            "{address:?}: the path may not hold spaces or controls"
        ));
    }
    let target = match target {
        "" => "/".to_string(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_string(),
    };
    Ok((https, authority.to_string(), target))
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::{errs, ok, setup};

    use crate::middleware::Middleware;

    const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

    #[test]
    fn address_path_and_query_make_the_target() {
        let text = format!(
            "{SVC}[http.middlewares.a.forwardAuth]\naddress = \"http://127.0.0.1:9/auth?x=1\"\n\
             authResponseHeaders = [\"x-auth-user\"]\n"
        );
        let s = setup(&[("m.toml", &text)]);
        let r = ok(&s.st);
        let Middleware::ForwardAuth(f) = &r.middlewares[0].kind else {
            panic!("not forwardAuth");
        };
        assert_eq!(
            (f.authority.as_str(), f.target.as_str()),
            ("127.0.0.1:9", "/auth?x=1")
        );
        assert_eq!(f.auth_response_headers, ["X-Auth-User"]);
        assert_eq!((f.max_body_size, f.trust_forward_header), (None, None));
    }

    #[test]
    fn bad_definitions_name_the_key() {
        for (def, key, why) in [
            ("", "address", "missing"),
            (
                "address = \"ftp://127.0.0.1:9\"",
                "address",
                "not supported",
            ),
            (
                "address = \"https://127.0.0.1:9\"\n[http.middlewares.a.forwardAuth.tls]\nca = \"missing.pem\"",
                "tls.ca",
                "missing.pem",
            ),
            (
                "address = \"https://127.0.0.1:9\"\n[http.middlewares.a.forwardAuth.tls]\ncert = \"c.pem\"",
                "tls.cert",
                "both",
            ),
            ("address = \"127.0.0.1:9\"", "address", "not a URL"),
            (
                "address = \"http://127.0.0.1:9\"\nauthResponseHeadersRegex = \"(\"",
                "authResponseHeadersRegex",
                "invalid regular expression",
            ),
        ] {
            let text = format!("{SVC}[http.middlewares.a.forwardAuth]\n{def}\n");
            let (_, e) = errs(&[("m.toml", &text)]);
            let key = format!("http.middlewares.a.forwardAuth.{key}");
            assert!(
                e.iter().any(|e| e.key == key && e.reason.contains(why)),
                "{def}: {e:?}"
            );
        }
    }
}
