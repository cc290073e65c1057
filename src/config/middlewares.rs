//! `http.middlewares` → compiled definitions, and the chains routers and entry
//! points run: references resolved by (possibly provider-qualified) name, `chain`
//! middlewares flattened in order, unknown names and cycles refused with the
//! file, key and the cycle's path.

use std::sync::Arc;

mod auth;

use auth::Extra;
pub use auth::read_users_files;
use regex::bytes::Regex;
use rustc_hash::FxHashMap;

use super::compile::{Def, Defs, def_key, not_defined, split_provider};
use super::error::ConfigError;
use super::raw_middleware::*;
use crate::middleware::{self as mw, Chain, Middleware, MiddlewareDef};

mod buffering;
mod compress;
mod ip_allow;
mod limits;
mod redirect;
mod retry;

pub use limits::carry_limits;

/// A type's refused key (relative to `http.middlewares.<name>.<type>`) and why.
type Refusal = (String, String);
mod circuit_breaker;
mod content_type;
mod digest_auth;
mod errors;
mod forward_auth;
pub use forward_auth::{RawClientTls, read_tls_files};

pub use errors::link as link_errors;
mod headers;
mod pass_tls_client_cert;

/// Compiled middlewares and how to find them by name.
#[derive(Default)]
pub struct MiddlewareIndex {
    /// What `Snapshot::middlewares` holds; chains index into it.
    pub defs: Vec<Arc<MiddlewareDef>>,
    /// By bare name (every definition is `@file` today).
    by_name: FxHashMap<String, Entry>,
}

enum Entry {
    One(u32),
    /// A `chain`: its members, resolved when referenced.
    Chain(Vec<String>),
    /// Refused; already reported where it is defined.
    Invalid,
}

/// Why a reference did not resolve: `Some(reason)`, or `None` when the target
/// exists but is itself invalid (reported where it is defined).
type Unresolved = Option<String>;

/// What a definition was compiled from, hashed: its raw configuration (its
/// `Debug` form, which shows every key and value; maps in it are ordered) and
/// the content of every file it reads, so a changed users file is a changed
/// definition. `DefaultHasher::new()` has fixed keys: equal inputs hash equal
/// from one reload to the next.
fn fingerprint(def: &Def<RawMiddleware>, extra: &Extra) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{:?}", def.raw).hash(&mut h);
    if let Some((path, content)) = auth::file_read(&def.file, &def.raw, extra) {
        path.hash(&mut h);
        content.hash(&mut h);
    }
    h.finish()
}

/// Compiles every middleware definition, then checks every chain.
pub fn compile_all(defs: &Defs, extra: &Extra, errors: &mut Vec<ConfigError>) -> MiddlewareIndex {
    let mut index = MiddlewareIndex::default();
    for (name, def) in &defs.middlewares {
        let entry = match one(name, def, extra, errors) {
            Some(Kind::Chain(members)) => Entry::Chain(members),
            Some(Kind::One(kind)) => {
                index.defs.push(Arc::new(MiddlewareDef {
                    name: super::compile::qualified(name),
                    kind,
                    fingerprint: fingerprint(def, extra),
                }));
                Entry::One(index.defs.len() as u32 - 1)
            }
            None => Entry::Invalid,
        };
        index.by_name.insert(name.clone(), entry);
    }
    // Each chain is checked on its own, so a cycle or an unknown member is
    // reported at the chain that has it; routers using it then stay quiet.
    let chains: Vec<String> = defs
        .middlewares
        .iter()
        .filter(|(_, d)| d.raw.chain.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    for name in chains {
        let mut out = Vec::new();
        if let Err(Some(reason)) = index.resolve(defs, &name, &mut vec![], &mut out) {
            let def = &defs.middlewares[&name];
            let key = format!("http.middlewares.{name}.chain.middlewares");
            errors.push(def.error(key, reason));
            index.by_name.insert(name, Entry::Invalid);
        }
    }
    index
}

impl MiddlewareIndex {
    /// The flattened chain of `names`, in order. Each failure is reported through
    /// `report` (a reason); `None` if any name failed.
    pub fn chain(
        &self,
        defs: &Defs,
        names: &[String],
        report: &mut dyn FnMut(String),
    ) -> Option<Chain> {
        let mut out = Vec::new();
        let mut ok = true;
        for name in names {
            if let Err(why) = self.resolve(defs, name, &mut vec![], &mut out) {
                ok = false;
                if let Some(reason) = why {
                    report(reason);
                }
            }
        }
        ok.then(|| Chain::from(out))
    }

    /// Appends the middlewares `name` stands for to `out`; `stack` holds the
    /// chains being expanded, to catch cycles.
    fn resolve(
        &self,
        defs: &Defs,
        name: &str,
        stack: &mut Vec<String>,
        out: &mut Vec<u32>,
    ) -> Result<(), Unresolved> {
        let base = match split_provider(name) {
            (_, None | Some("file" | "redis" | "etcd")) => def_key(name).unwrap_or(name),
            (_, Some("internal")) => {
                return Err(Some(format!(
                    "unknown internal middleware `{name}` (proxyd has no built-in middlewares)"
                )));
            }
            (_, Some(p)) => {
                return Err(Some(format!(
                    "middleware `{name}`: provider `{p}` does not exist (use `@file`, `@redis` or `@etcd`)"
                )));
            }
        };
        match self.by_name.get(base) {
            None => Err(Some(not_defined(defs, "middleware", name))),
            Some(Entry::Invalid) => Err(None),
            Some(Entry::One(id)) => {
                out.push(*id);
                Ok(())
            }
            Some(Entry::Chain(members)) => {
                if let Some(at) = stack.iter().position(|s| s == base) {
                    let mut path: Vec<String> = stack[at..]
                        .iter()
                        .map(|s| super::compile::qualified(s))
                        .collect();
                    path.push(super::compile::qualified(base));
                    return Err(Some(format!("chain cycle: {}", path.join(" -> "))));
                }
                stack.push(base.to_string());
                let mut result = Ok(());
                for m in members {
                    if let Err(e) = self.resolve(defs, m, stack, out) {
                        result = Err(e);
                        break;
                    }
                }
                stack.pop();
                result
            }
        }
    }
}

enum Kind {
    One(Middleware),
    Chain(Vec<String>),
}

/// Compiles one definition; it must name exactly one middleware type.
fn one(
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
