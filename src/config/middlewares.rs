//! `http.middlewares` → compiled definitions, and the chains routers and entry
//! points run: references resolved by (possibly provider-qualified) name, `chain`
//! middlewares flattened in order, unknown names and cycles refused with the
//! file, key and the cycle's path. What one definition compiles to is
//! `middlewares/kind.rs`.

use std::sync::Arc;

mod auth;

use auth::Extra;
pub use auth::read_users_files;
use kind::{Kind, one};
use rustc_hash::FxHashMap;

use super::compile::{Def, Defs, def_key, not_defined, split_provider};
use super::error::ConfigError;
use super::raw_middleware::*;
use crate::middleware::{Chain, MiddlewareDef};

mod buffering;
mod compress;
mod ip_allow;
mod kind;
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
