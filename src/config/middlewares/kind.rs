//! Which middleware one definition is: it must name exactly one type, and
//! that type's keys compile into a [`Middleware`] (each type's own checks in
//! the sibling modules), or a `chain`'s member names.

use regex::bytes::Regex;

use super::auth::{self, Extra};
use super::{
    Refusal, buffering, circuit_breaker, compress, content_type, digest_auth, errors, forward_auth,
    headers, ip_allow, limits, pass_tls_client_cert, redirect, retry,
};
use crate::config::compile::Def;
use crate::config::error::ConfigError;
use crate::config::raw_middleware::*;
use crate::middleware::{self as mw, Middleware};

/// A definition compiled: one middleware, or a chain of names.
pub(super) enum Kind {
    One(Middleware),
    Chain(Vec<String>),
}

/// Compiles one definition; it must name exactly one middleware type.
pub(super) fn one(
    name: &str,
    def: &Def<RawMiddleware>,
    extra: &Extra,
    errors: &mut Vec<ConfigError>,
) -> Option<Kind> {
    let raw = &def.raw;
    let key = |rest: &str| format!("http.middlewares.{name}{rest}");
    let present: Vec<&str> = [
        ("addPrefix", raw.add_prefix.is_some()),
        ("stripPrefix", raw.strip_prefix.is_some()),
        ("stripPrefixRegex", raw.strip_prefix_regex.is_some()),
        ("replacePath", raw.replace_path.is_some()),
        ("replacePathRegex", raw.replace_path_regex.is_some()),
        ("chain", raw.chain.is_some()),
        ("basicAuth", raw.basic_auth.is_some()),
        ("redirectScheme", raw.redirect_scheme.is_some()),
        ("redirectRegex", raw.redirect_regex.is_some()),
        ("ipAllowList", raw.ip_allow_list.is_some()),
        ("ipWhiteList", raw.ip_white_list.is_some()),
        ("headers", raw.headers.is_some()),
        ("contentType", raw.content_type.is_some()),
        ("digestAuth", raw.digest_auth.is_some()),
        ("passTLSClientCert", raw.pass_tls_client_cert.is_some()),
        ("rateLimit", raw.rate_limit.is_some()),
        ("inFlightReq", raw.in_flight_req.is_some()),
        ("retry", raw.retry.is_some()),
        ("forwardAuth", raw.forward_auth.is_some()),
        ("errors", raw.errors.is_some()),
        ("circuitBreaker", raw.circuit_breaker.is_some()),
        ("compress", raw.compress.is_some()),
        ("buffering", raw.buffering.is_some()),
        ("grpcWeb", raw.grpc_web.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, p)| p.then_some(k))
    .collect();
    let mut fail = |k: String, reason: String| {
        errors.push(def.error(k, reason));
        None
    };
    match present.as_slice() {
        [] => {
            return fail(
                key(""),
                "no middleware type given (e.g. `stripPrefix`)".into(),
            );
        }
        [_] => {}
        many => {
            let reason = format!(
                "one definition holds one middleware type, this one has {}; declare one middleware per type",
                many.join(" and ")
            );
            return fail(key(""), reason);
        }
    }
    let kind = if let Some(m) = &raw.add_prefix {
        match m.prefix.as_deref() {
            Some(p) if !p.is_empty() => Middleware::AddPrefix(mw::AddPrefix { prefix: p.into() }),
            _ => {
                return fail(
                    key(".addPrefix.prefix"),
                    "missing: the prefix cannot be empty".into(),
                );
            }
        }
    } else if let Some(m) = &raw.strip_prefix {
        let prefixes = m.prefixes.iter().map(|p| p.trim().to_string()).collect();
        Middleware::StripPrefix(mw::StripPrefix { prefixes })
    } else if let Some(m) = &raw.strip_prefix_regex {
        let mut regex = Vec::new();
        for (i, r) in m.regex.iter().enumerate() {
            match Regex::new(r.trim()) {
                Ok(re) => regex.push(re),
                Err(e) => {
                    return fail(key(&format!(".stripPrefixRegex.regex[{i}]")), bad_regex(&e));
                }
            }
        }
        Middleware::StripPrefixRegex(mw::StripPrefixRegex { regex })
    } else if let Some(m) = &raw.replace_path {
        let path = m.path.clone().unwrap_or_default();
        if let Err(reason) = check_path(&path) {
            return fail(key(".replacePath.path"), reason);
        }
        Middleware::ReplacePath(mw::ReplacePath { path })
    } else if let Some(m) = &raw.replace_path_regex {
        let regex = match m.regex.as_deref().map(|r| Regex::new(r.trim())) {
            Some(Ok(re)) => re,
            Some(Err(e)) => return fail(key(".replacePathRegex.regex"), bad_regex(&e)),
            None => {
                return fail(
                    key(".replacePathRegex.regex"),
                    "missing: a regex is required".into(),
                );
            }
        };
        let replacement = m.replacement.clone().unwrap_or_default();
        Middleware::ReplacePathRegex(mw::ReplacePathRegex { regex, replacement })
    } else if let Some(m) = &raw.basic_auth {
        match auth::basic(&def.file, m, extra) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".basicAuth.{k}")), reason),
        }
    } else if let Some(compiled) = redirect_or_ip(raw) {
        match compiled {
            Ok(kind) => kind,
            Err((ty, (k, reason))) => return fail(key(&format!(".{ty}.{k}")), reason),
        }
    } else if let Some(m) = &raw.headers {
        match headers::compile(m) {
            Ok(h) => Middleware::Headers(Box::new(h)),
            Err((k, reason)) => return fail(key(&format!(".headers{k}")), reason),
        }
    } else if let Some(m) = &raw.content_type {
        content_type::compile(m)
    } else if let Some(m) = &raw.digest_auth {
        match digest_auth::compile(&def.file, m, extra) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".digestAuth.{k}")), reason),
        }
    } else if let Some(m) = &raw.pass_tls_client_cert {
        pass_tls_client_cert::compile(m)
    } else if let Some(m) = &raw.rate_limit {
        match limits::rate_limit(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".rateLimit.{k}")), reason),
        }
    } else if let Some(m) = &raw.in_flight_req {
        match limits::in_flight_req(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".inFlightReq.{k}")), reason),
        }
    } else if let Some(m) = &raw.retry {
        match retry::compile(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".retry.{k}")), reason),
        }
    } else if let Some(m) = &raw.forward_auth {
        match forward_auth::compile(&def.file, m, extra) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".forwardAuth.{k}")), reason),
        }
    } else if let Some(m) = &raw.errors {
        match errors::compile(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".errors.{k}")), reason),
        }
    } else if let Some(m) = &raw.circuit_breaker {
        match circuit_breaker::compile(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".circuitBreaker.{k}")), reason),
        }
    } else if let Some(m) = &raw.buffering {
        match buffering::compile(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".buffering.{k}")), reason),
        }
    } else if let Some(m) = &raw.grpc_web {
        Middleware::GrpcWeb(mw::GrpcWeb {
            origins: m
                .allow_origins
                .iter()
                .filter(|o| *o != "*")
                .cloned()
                .collect(),
            any_origin: m.allow_origins.iter().any(|o| o == "*"),
        })
    } else if let Some(m) = &raw.compress {
        match compress::compile(m) {
            Ok(kind) => kind,
            Err((k, reason)) => return fail(key(&format!(".compress.{k}")), reason),
        }
    } else {
        let chain = raw.chain.as_ref().expect("one type is present");
        return Some(Kind::Chain(chain.middlewares.clone()));
    };
    Some(Kind::One(kind))
}

fn bad_regex(e: &regex::Error) -> String {
    format!("invalid regular expression: {e}")
}

/// A path a middleware may send upstream: visible ASCII, no query or fragment,
/// and valid percent escapes (Traefik would fail each request with a 500).
fn check_path(path: &str) -> Result<(), String> {
    if let Some(c) = path
        .chars()
        .find(|c| !c.is_ascii_graphic() || *c == '?' || *c == '#')
    {
        return Err(format!(
            "{c:?} cannot appear in a path (spaces, controls, `?` and `#` are not allowed)"
        ));
    }
    let b = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !hex(i + 1) || !hex(i + 2) {
            return Err(format!("invalid percent escape at byte {i}"));
        }
    }
    Ok(())
}

/// redirectScheme, redirectRegex, ipAllowList and ipWhiteList, if the
/// definition is one of them; a refusal names the type.
fn redirect_or_ip(raw: &RawMiddleware) -> Option<Result<Middleware, (&'static str, Refusal)>> {
    let tag = |ty: &'static str| move |r: Refusal| (ty, r);
    Some(if let Some(m) = &raw.redirect_scheme {
        redirect::redirect_scheme(m).map_err(tag("redirectScheme"))
    } else if let Some(m) = &raw.redirect_regex {
        redirect::redirect_regex(m).map_err(tag("redirectRegex"))
    } else if let Some(m) = &raw.ip_allow_list {
        ip_allow::ip_allow_list(m, false).map_err(tag("ipAllowList"))
    } else if let Some(m) = &raw.ip_white_list {
        ip_allow::ip_allow_list(m, true).map_err(tag("ipWhiteList"))
    } else {
        return None;
    })
}
