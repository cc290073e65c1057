//! `http.middlewares.<name>.headers` → [`mw::Headers`]: names canonicalized as
//! Go writes them, lists joined, regexes compiled, the security values built,
//! and what proxyd cannot send refused with the key and a reason (names that
//! are not tokens, values with CR/LF/NUL, framing and hop-by-hop headers, the
//! options Traefik v3 removed).

use std::collections::BTreeMap;

use regex::bytes::Regex;

use crate::config::raw_middleware::RawHeaders;
use crate::middleware::{self as mw, HeaderOp};

/// (key below `headers`, e.g. `.customRequestHeaders.Connection`, reason).
type Refusal = (String, String);

/// Headers proxyd writes itself: framing and hop-by-hop fields.
const OWNED: &[&str] = &[
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Te",
    "Trailer",
    "Upgrade",
    "Proxy-Authenticate",
    "Proxy-Authorization",
];

pub fn compile(raw: &RawHeaders) -> Result<mw::Headers, Refusal> {
    refuse_removed(raw)?;
    let request = custom(&raw.custom_request_headers, ".customRequestHeaders")?;
    let response = custom(&raw.custom_response_headers, ".customResponseHeaders")?;
    let cors = cors(raw, &response)?;
    let secure = secure(raw)?;
    if request.is_empty() && response.is_empty() && cors.is_none() && secure.is_none() {
        return Err((
            String::new(),
            "headers configuration not valid: no option is set".into(),
        ));
    }
    Ok(mw::Headers {
        request,
        response,
        cors,
        secure,
    })
}

/// Traefik v3 still parses these but ignores them; silently doing the same
/// would hide a redirect or header the user expects.
fn refuse_removed(raw: &RawHeaders) -> Result<(), Refusal> {
    let removed = [
        (
            "featurePolicy",
            raw.feature_policy.is_some(),
            "use `permissionsPolicy`",
        ),
        (
            "sslRedirect",
            raw.ssl_redirect.is_some(),
            "use a `redirectScheme` middleware or the entry point's redirection",
        ),
        (
            "sslTemporaryRedirect",
            raw.ssl_temporary_redirect.is_some(),
            "use a `redirectScheme` middleware or the entry point's redirection",
        ),
        (
            "sslHost",
            raw.ssl_host.is_some(),
            "use a `redirectRegex` middleware",
        ),
        (
            "sslForceHost",
            raw.ssl_force_host.is_some(),
            "use a `redirectRegex` middleware",
        ),
    ];
    match removed.into_iter().find(|(_, set, _)| *set) {
        Some((key, _, instead)) => Err((
            format!(".{key}"),
            format!("removed in Traefik v3 (which ignores it); {instead}"),
        )),
        None => Ok(()),
    }
}

fn custom(map: &BTreeMap<String, String>, at: &str) -> Result<Vec<mw::Custom>, Refusal> {
    let mut out: Vec<mw::Custom> = Vec::new();
    for (name, value) in map {
        let key = format!("{at}.{name}");
        check_name(name).map_err(|r| (key.clone(), r))?;
        if OWNED.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            return Err((
                key,
                format!("`{name}` is a framing or hop-by-hop header proxyd writes itself"),
            ));
        }
        check_value(value).map_err(|r| (key.clone(), r))?;
        if out.iter().any(|c| c.name.eq_ignore_ascii_case(name)) {
            return Err((
                key,
                "listed twice (header names are case-insensitive)".into(),
            ));
        }
        out.push(mw::Custom {
            name: canonical(name),
            value: value.clone(),
        });
    }
    Ok(out)
}

fn cors(raw: &RawHeaders, response: &[mw::Custom]) -> Result<Option<mw::Cors>, Refusal> {
    let defined = raw.access_control_allow_credentials
        || !raw.access_control_allow_headers.is_empty()
        || !raw.access_control_allow_methods.is_empty()
        || !raw.access_control_allow_origin_list.is_empty()
        || !raw.access_control_allow_origin_list_regex.is_empty()
        || !raw.access_control_expose_headers.is_empty()
        || raw.access_control_max_age.is_some()
        || raw.add_vary_header;
    if !defined {
        return Ok(None);
    }
    let list = |v: &[String], key: &str| -> Result<String, Refusal> {
        let joined = v.join(",");
        check_value(&joined).map_err(|r| (format!(".{key}"), r))?;
        Ok(joined)
    };
    let star = |v: &[String]| v.iter().any(|s| s == "*");
    let mut origin_regexes = Vec::new();
    for (i, r) in raw
        .access_control_allow_origin_list_regex
        .iter()
        .enumerate()
    {
        let re = Regex::new(r).map_err(|e| {
            (
                format!(".accessControlAllowOriginListRegex[{i}]"),
                format!("invalid regular expression: {e}"),
            )
        })?;
        origin_regexes.push(re);
    }
    list(
        &raw.access_control_allow_origin_list,
        "accessControlAllowOriginList",
    )?;
    Ok(Some(mw::Cors {
        credentials: raw.access_control_allow_credentials,
        allow_headers: list(
            &raw.access_control_allow_headers,
            "accessControlAllowHeaders",
        )?,
        allow_headers_any: star(&raw.access_control_allow_headers),
        allow_methods: list(
            &raw.access_control_allow_methods,
            "accessControlAllowMethods",
        )?,
        allow_methods_any: star(&raw.access_control_allow_methods),
        origins: raw.access_control_allow_origin_list.clone(),
        origin_regexes,
        expose: list(
            &raw.access_control_expose_headers,
            "accessControlExposeHeaders",
        )?,
        expose_any: star(&raw.access_control_expose_headers),
        max_age: raw.access_control_max_age.map(|n| n.to_string()),
        vary: raw.add_vary_header.then(|| vary(response)),
    }))
}

/// Traefik adds `Origin` to the response's first `Vary` value after the custom
/// response headers were applied, so a custom `Vary` decides it here.
fn vary(response: &[mw::Custom]) -> (HeaderOp, String) {
    match response
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case("vary"))
    {
        None => (HeaderOp::Append, "Origin".into()),
        Some(c) if c.value.is_empty() || c.value == "Origin" => (HeaderOp::Set, "Origin".into()),
        Some(c) => (HeaderOp::Set, format!("{},Origin", c.value)),
    }
}

fn secure(raw: &RawHeaders) -> Result<Option<mw::Secure>, Refusal> {
    let defined = !raw.allowed_hosts.is_empty()
        || !raw.hosts_proxy_headers.is_empty()
        || !raw.ssl_proxy_headers.is_empty()
        || raw.sts_seconds.is_some()
        || raw.sts_include_subdomains
        || raw.sts_preload
        || raw.force_sts_header
        || raw.frame_deny
        || !raw.custom_frame_options_value.is_empty()
        || raw.content_type_nosniff
        || raw.browser_xss_filter
        || !raw.custom_browser_xss_value.is_empty()
        || !raw.content_security_policy.is_empty()
        || !raw.content_security_policy_report_only.is_empty()
        || !raw.public_key.is_empty()
        || !raw.referrer_policy.is_empty()
        || !raw.permissions_policy.is_empty()
        || raw.is_development;
    if !defined {
        return Ok(None);
    }
    for (i, h) in raw.hosts_proxy_headers.iter().enumerate() {
        check_name(h).map_err(|r| (format!(".hostsProxyHeaders[{i}]"), r))?;
    }
    let mut ssl_proxy_headers = Vec::new();
    for (name, value) in &raw.ssl_proxy_headers {
        let key = format!(".sslProxyHeaders.{name}");
        check_name(name).map_err(|r| (key.clone(), r))?;
        check_value(value).map_err(|r| (key, r))?;
        ssl_proxy_headers.push((name.clone(), value.clone()));
    }
    let dev = raw.is_development;
    Ok(Some(mw::Secure {
        allowed_hosts: if dev {
            vec![]
        } else {
            raw.allowed_hosts.clone()
        },
        hosts_proxy_headers: raw.hosts_proxy_headers.clone(),
        ssl_proxy_headers,
        sts: sts(raw)?.filter(|_| !dev),
        force_sts: raw.force_sts_header,
        public_key: (!raw.public_key.is_empty() && !dev).then(|| raw.public_key.clone()),
        always: always(raw)?,
    }))
}

/// `max-age=N[; includeSubDomains][; preload]`; none when `stsSeconds` is 0 or unset.
fn sts(raw: &RawHeaders) -> Result<Option<String>, Refusal> {
    match raw.sts_seconds {
        None | Some(0) => Ok(None),
        Some(n) if n < 0 => Err((".stsSeconds".into(), format!("{n} is negative"))),
        Some(n) => {
            let mut v = format!("max-age={n}");
            if raw.sts_include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if raw.sts_preload {
                v.push_str("; preload");
            }
            Ok(Some(v))
        }
    }
}

/// The headers sent on every response, in unrolled/secure's order.
fn always(raw: &RawHeaders) -> Result<Vec<(&'static str, String)>, Refusal> {
    let or = |custom: &str, flag: bool, default: &str| {
        if !custom.is_empty() {
            custom.to_string()
        } else if flag {
            default.to_string()
        } else {
            String::new()
        }
    };
    let all = [
        (
            "X-Frame-Options",
            "customFrameOptionsValue",
            or(&raw.custom_frame_options_value, raw.frame_deny, "DENY"),
        ),
        (
            "X-Content-Type-Options",
            "contentTypeNosniff",
            or("", raw.content_type_nosniff, "nosniff"),
        ),
        (
            "X-XSS-Protection",
            "customBrowserXSSValue",
            or(
                &raw.custom_browser_xss_value,
                raw.browser_xss_filter,
                "1; mode=block",
            ),
        ),
        (
            "Content-Security-Policy",
            "contentSecurityPolicy",
            raw.content_security_policy.clone(),
        ),
        (
            "Content-Security-Policy-Report-Only",
            "contentSecurityPolicyReportOnly",
            raw.content_security_policy_report_only.clone(),
        ),
        (
            "Referrer-Policy",
            "referrerPolicy",
            raw.referrer_policy.clone(),
        ),
        (
            "Permissions-Policy",
            "permissionsPolicy",
            raw.permissions_policy.clone(),
        ),
    ];
    let mut out = Vec::new();
    for (header, key, value) in all {
        if value.is_empty() {
            continue;
        }
        check_value(&value).map_err(|r| (format!(".{key}"), r))?;
        if value.contains("$NONCE") {
            // unrolled/secure puts a fresh nonce there per request, but behind a
            // proxy the service never learns it, so its scripts would be blocked.
            return Err((
                format!(".{key}"),
                "`$NONCE` is not supported: the service behind the proxy never sees the nonce"
                    .into(),
            ));
        }
        out.push((header, value));
    }
    if !raw.public_key.is_empty() {
        check_value(&raw.public_key).map_err(|r| (".publicKey".into(), r))?;
    }
    Ok(out)
}

/// An HTTP field name: one or more token characters (RFC 9110 §5.1).
fn check_name(name: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!(
            "{name:?} is not a valid header name (a token: letters, digits, !#$%&'*+-.^_`|~)"
        ));
    }
    Ok(())
}

/// A value that cannot split or end the header block.
fn check_value(value: &str) -> Result<(), String> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err("a header value cannot contain CR, LF or NUL".into());
    }
    Ok(())
}

/// Go's canonical header key: first letter and each letter after `-`
/// uppercase, the rest lowercase (names are tokens, checked before).
fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

#[cfg(test)]
mod tests;
