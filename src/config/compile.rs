//! Dynamic files → [`Snapshot`]: parse every file, merge definitions (refusing
//! duplicates), resolve references, then compile rules into one router table per
//! entry point. Every error of every file is collected before giving up.
//! The merge of the files into definitions by name is `compile/defs.rs`.

mod defs;

use defs::merge;
pub use defs::{Def, Defs, def_key, insert, not_defined, qualified, split_provider};

use std::path::Path;
use std::sync::Arc;

use super::error::{ConfigError, ConfigErrors};
use super::provider::{ProviderFiles, SourceFile};
use super::raw_dynamic::*;
use super::services::{self, ServiceIndex};
use super::types::*;
use crate::router::{RouteEntry, RouterTable, Rule};

/// Everything but the rules: routers and services, references resolved.
pub struct Resolved {
    pub routers: Vec<Router>,
    /// The file each router was defined in (same index), for rule errors.
    pub router_files: Vec<Arc<Path>>,
    pub services: Vec<Arc<Service>>,
    pub middlewares: Vec<Arc<crate::middleware::MiddlewareDef>>,
    /// One chain per static entry point (`entryPoints.<n>.http.middlewares`).
    pub entry_chains: Vec<crate::middleware::Chain>,
    /// What `tls`/`tcp` compile from (`config::tls`, `config::tcp`).
    pub defs: Defs,
}

/// The whole pipeline for one generation. Takes the files by value: their parsed
/// definitions move into the snapshot instead of being cloned.
pub fn compile(
    st: &StaticConfig,
    mut files: ProviderFiles,
    generation: u64,
) -> Result<Snapshot, ConfigErrors> {
    let mut errors = std::mem::take(&mut files.errors);
    let resolved = resolve(
        st,
        std::mem::take(&mut files.files),
        &files.extra,
        &mut errors,
    );
    // The one place rules meet the router module.
    let mut rules = parse_rules(&resolved, &mut errors);
    let mut resolved = resolved;
    super::static_tls::add_redirect_routers(st, &mut resolved, &mut rules);
    let tcp = super::tcp::compile(st, &resolved.defs, &mut errors);
    let tls = super::tls::compile(st, &files, &resolved, &rules, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Snapshot {
        generation,
        tables: build_tables(st, &resolved.routers, &rules, false),
        tls_tables: build_tables(st, &resolved.routers, &rules, true),
        tls: tls.expect("no errors means TLS compiled"),
        tcp,
        routers: resolved.routers,
        services: resolved.services,
        middlewares: resolved.middlewares,
        entry_chains: resolved.entry_chains,
    })
}

/// Merges and resolves the parsed files; no rule is parsed here.
pub fn resolve(
    st: &StaticConfig,
    files: Vec<SourceFile>,
    extra: &[(std::path::PathBuf, Result<Vec<u8>, String>)],
    errors: &mut Vec<ConfigError>,
) -> Resolved {
    let defs = merge(files, errors);
    let mut index = services::compile_all(&defs, extra, errors);
    let mut mws = super::middlewares::compile_all(&defs, extra, errors);
    super::middlewares::link_errors(&mut mws, &defs, &mut index, errors);
    let entry_chains = entry_chains(st, &defs, &mws, errors);
    let (mut routers, mut router_files): (Vec<_>, Vec<_>) = defs
        .routers
        .iter()
        .filter_map(|(name, def)| {
            let r = router(st, &defs, (&mut index, &mws), name, def, errors)?;
            Some((r, def.file.clone()))
        })
        .unzip();
    for (kind, rule, priority, ep) in crate::config::observe::implicit_routers(&st.observe) {
        let service = index.internal(kind.name(), ServiceKind::Observe(kind));
        routers.push(Router {
            name: kind.name().to_string(),
            rule: rule.to_string(),
            priority,
            entry_points: vec![ep],
            service,
            tls: None,
            middlewares: Default::default(),
        });
        router_files.push(st.source.as_path().into());
    }
    Resolved {
        routers,
        router_files,
        services: index.services.into_iter().map(Arc::new).collect(),
        middlewares: mws.defs,
        entry_chains,
        defs,
    }
}

/// The chain of each entry point's `http.middlewares` (static configuration),
/// resolved against the dynamic definitions; errors name the static file.
fn entry_chains(
    st: &StaticConfig,
    defs: &Defs,
    mws: &super::middlewares::MiddlewareIndex,
    errors: &mut Vec<ConfigError>,
) -> Vec<crate::middleware::Chain> {
    st.entry_points
        .iter()
        .map(|ep| {
            let key = format!("entryPoints.{}.http.middlewares", ep.name);
            let file = st.source.display().to_string();
            let mut report =
                |reason| errors.push(ConfigError::new(file.clone(), key.clone(), reason));
            mws.chain(defs, &ep.middlewares, &mut report)
                .unwrap_or_default()
        })
        .collect()
}

/// Builds the key path of an error below a definition (`rest` is `""` or starts
/// with `.`). Per-definition code takes this rather than a ready key: building
/// every key up front cost an allocation per router and service.
pub type KeyFn<'a> = &'a dyn Fn(&str) -> String;

fn router(
    st: &StaticConfig,
    defs: &Defs,
    (index, mws): (&mut ServiceIndex, &super::middlewares::MiddlewareIndex),
    name: &str,
    def: &Def<RawRouter>,
    errors: &mut Vec<ConfigError>,
) -> Option<Router> {
    let key = |rest: &str| format!("http.routers.{name}{rest}");
    let before = errors.len();
    let raw = &def.raw;
    let middlewares = {
        let mut report = |reason| errors.push(def.error(key(".middlewares"), reason));
        mws.chain(defs, &raw.middlewares, &mut report)
    };
    let rule = match raw.rule.as_deref().map(str::trim) {
        Some(rule) if !rule.is_empty() => Some(rule.to_string()),
        _ => {
            errors.push(def.error(key(".rule"), "missing: every router needs a rule"));
            None
        }
    };
    let entry_points = entry_points_of(st, &key, &def.file, raw.entry_points.as_ref(), errors);
    let service = match &raw.service {
        Some(s) => index
            .lookup(defs, s)
            .map_err(|why| why.map(|r| def.error(key(".service"), r))),
        None => Err(Some(
            def.error(key(".service"), "missing: every router needs a service"),
        )),
    };
    if let Some((base, Some("internal"))) = raw.service.as_deref().map(split_provider)
        && let Some(k) = crate::config::observe::Internal::from_base(base)
        && let Err(reason) = crate::config::observe::check_reference(&st.observe, k)
    {
        errors.push(def.error(key(".service"), reason));
    }
    let service = service.map_err(|e| errors.extend(e)).ok();
    if errors.len() > before {
        return None;
    }
    let rule = rule?;
    let tls = raw
        .tls
        .as_ref()
        .map(|t| super::tls::router_tls(def, &key(""), t, st, errors));
    Some(Router {
        tls,
        name: qualified(name),
        // Traefik: priority 0 (or unset) means "the length of the rule".
        priority: raw
            .priority
            .filter(|p| *p != 0)
            .unwrap_or(rule.len() as i64),
        rule,
        entry_points,
        service: service?,
        middlewares: middlewares?,
    })
}

/// Named entry points must exist; none (or an empty list) means all of them.
pub fn entry_points_of(
    st: &StaticConfig,
    key: KeyFn,
    file: &Path,
    names: Option<&Vec<String>>,
    errors: &mut Vec<ConfigError>,
) -> Vec<String> {
    let all = || st.entry_points.iter().map(|e| e.name.clone()).collect();
    let Some(names) = names.filter(|n| !n.is_empty()) else {
        return all();
    };
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !st.entry_points.iter().any(|e| &e.name == n) {
            let reason = format!("entry point `{n}` is not defined in the static configuration");
            let file = file.display().to_string();
            errors.push(ConfigError::new(file, key(".entryPoints"), reason));
        } else if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// Parses every router's rule, reporting each bad one.
fn parse_rules(resolved: &Resolved, errors: &mut Vec<ConfigError>) -> Vec<Option<Rule>> {
    let files = resolved.router_files.iter();
    resolved
        .routers
        .iter()
        .zip(files)
        .map(|(r, file)| {
            Rule::parse(&r.rule)
                .map_err(|e| errors.push(rule_error(r, file, &e.to_string())))
                .ok()
        })
        .collect()
}

fn rule_error(r: &Router, file: &Path, why: &str) -> ConfigError {
    let name = r.name.trim_end_matches("@file");
    // A KV router's name stays qualified (`http.routers.app@redis.rule`).
    let key = format!("http.routers.{name}.rule");
    ConfigError::new(file.display().to_string(), key, why)
}

/// One table per static entry point, holding the routers attached to it that
/// serve TLS connections (`tls`) or plaintext ones.
fn build_tables(
    st: &StaticConfig,
    routers: &[Router],
    rules: &[Option<Rule>],
    tls: bool,
) -> Vec<RouterTable> {
    st.entry_points
        .iter()
        .map(|ep| {
            let entries = routers
                .iter()
                .zip(rules)
                .enumerate()
                .filter(|(_, (r, _))| r.entry_points.contains(&ep.name))
                .filter(|(_, (r, _))| (r.tls.is_some() || ep.http_tls.is_some()) == tls)
                .filter_map(|(id, (r, rule))| {
                    Some(RouteEntry {
                        rule: rule.clone()?,
                        priority: r.priority,
                        name: r.name.clone(),
                        id: id as u32,
                    })
                })
                .collect();
            RouterTable::build(entries)
        })
        .collect()
}
