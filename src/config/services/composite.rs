//! Services of services (`weighted`, `failover`), compiled once every other
//! service exists: each child reference is resolved to an id, a cycle is
//! refused with the path of names that closes it, and a parent that follows
//! its children's health (`healthCheck: {}`, and always a failover's
//! `service`) needs children that report it, as in Traefik (a load balancer
//! with `healthCheck`, or a weighted or failover service with `healthCheck`).

use std::collections::HashMap;
use std::sync::Arc;

use super::super::compile::{Def, Defs, split_provider};
use super::super::error::ConfigError;
use super::super::raw_dynamic::{
    RawFailover, RawFailoverErrors, RawMirroring, RawService, RawWeighted,
};
use super::super::types::*;
use super::ServiceIndex;

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Visiting,
    Good,
    Bad,
}

/// A reference to a child: the key it is written at (below the service) and
/// the name, and whether the parent needs the child to report its health.
struct Child<'a> {
    key: String,
    name: &'a str,
    followed: bool,
    /// A mirror: proxyd sends its copies to a load balancer's servers only.
    mirror: bool,
}

/// Compiles every `weighted` and `failover` service into `index`.
pub fn compile_all(defs: &Defs, index: &mut ServiceIndex, errors: &mut Vec<ConfigError>) {
    let composites: Vec<(&String, &Def<RawService>)> = (defs.services.iter())
        .filter(|(_, d)| kinds(&d.raw) == 1 && d.raw.load_balancer.is_none())
        .filter(|(_, d)| d.raw.respond.is_none())
        .collect();
    let mut c = Checker {
        defs,
        index,
        composites: composites.iter().map(|(n, d)| (n.as_str(), *d)).collect(),
        marks: HashMap::new(),
        stack: Vec::new(),
        errors,
    };
    for (name, _) in &composites {
        c.visit(name);
    }
    let Checker { marks, index, .. } = c;
    let good: Vec<&str> = (composites.iter().map(|(n, _)| n.as_str()))
        .filter(|n| marks.get(n) == Some(&Mark::Good))
        .collect();
    // Ids first (children may be composites compiled after their parent),
    // then the kinds that point at them.
    let ids: Vec<usize> = (good.iter())
        .map(|name| {
            let id = index.add(Service {
                name: super::super::compile::qualified(name),
                kind: ServiceKind::Whoami,
            });
            index.files.insert(name.to_string(), id);
            id
        })
        .collect();
    for (name, id) in good.into_iter().zip(ids) {
        let raw = &defs.services[name].raw;
        let kind = match (&raw.weighted, &raw.failover, &raw.mirroring) {
            (Some(w), _, _) => ServiceKind::Weighted(weighted(name, w, defs, index)),
            (_, Some(f), _) => ServiceKind::Failover(failover(f, defs, index)),
            (_, _, Some(m)) => ServiceKind::Mirroring(mirroring(m, defs, index)),
            _ => unreachable!("only services of services are here"),
        };
        index.services[id].kind = kind;
    }
}

struct Checker<'a, 'e> {
    defs: &'a Defs,
    index: &'a mut ServiceIndex,
    composites: HashMap<&'a str, &'a Def<RawService>>,
    marks: HashMap<&'a str, Mark>,
    stack: Vec<&'a str>,
    errors: &'e mut Vec<ConfigError>,
}

impl<'a> Checker<'a, '_> {
    /// Checks one composite service and, first, the composites it uses.
    fn visit(&mut self, name: &'a str) -> Mark {
        if let Some(m) = self.marks.get(name) {
            return *m;
        }
        let def = self.composites[name];
        self.marks.insert(name, Mark::Visiting);
        self.stack.push(name);
        let key = |rest: &str| format!("http.services.{name}{rest}");
        let mut errors: Vec<ConfigError> = own_errors(&def.raw)
            .into_iter()
            .map(|(k, why)| def.error(key(&k), why))
            .collect();
        let mut bad = !errors.is_empty();
        for child in children(&def.raw) {
            match self.child(&child) {
                Ok(()) => {}
                Err(None) => bad = true,
                Err(Some(why)) => errors.push(def.error(key(&child.key), why)),
            }
        }
        self.stack.pop();
        let mark = if bad || !errors.is_empty() {
            Mark::Bad
        } else {
            Mark::Good
        };
        self.errors.extend(errors);
        self.marks.insert(name, mark);
        mark
    }

    /// Whether a child resolves (and reports its health when it must):
    /// `Err(None)` when it is itself invalid (already reported).
    fn child(&mut self, child: &Child<'a>) -> Result<(), Option<String>> {
        let name = child.name;
        let (base, provider) = split_provider(name);
        let in_file = matches!(provider, None | Some("file"));
        let reports = if in_file && let Some(&def) = self.composites.get(base) {
            if child.mirror {
                return Err(Some(mirror_not_lb(name)));
            }
            if self.marks.get(base) == Some(&Mark::Visiting) {
                let from = self.stack.iter().position(|n| *n == base).unwrap_or(0);
                let mut path: Vec<&str> = self.stack[from..].to_vec();
                path.push(base);
                return Err(Some(format!("cycle of services: {}", path.join(" → "))));
            }
            if self.visit(base) != Mark::Good {
                return Err(None);
            }
            service_health_check(&def.raw)
        } else {
            let id = self.index.lookup(self.defs, name)?;
            match &self.index.services[id].kind {
                ServiceKind::LoadBalancer(lb) => lb.health_check.is_some(),
                _ if child.mirror => return Err(Some(mirror_not_lb(name))),
                _ => false,
            }
        };
        if child.followed && !reports {
            return Err(Some(format!(
                "service `{name}` has no healthCheck, so it cannot report its state \
                 (give it `healthCheck`, or remove the parent's)"
            )));
        }
        Ok(())
    }
}

/// How many service kinds a definition has (exactly one is valid).
fn kinds(raw: &RawService) -> usize {
    [
        raw.load_balancer.is_some(),
        raw.respond.is_some(),
        raw.weighted.is_some(),
        raw.failover.is_some(),
        raw.mirroring.is_some(),
    ]
    .into_iter()
    .filter(|p| *p)
    .count()
}

fn mirror_not_lb(name: &str) -> String {
    format!("service `{name}` is not a loadBalancer: proxyd mirrors to load balancers only")
}

fn service_health_check(raw: &RawService) -> bool {
    match (&raw.weighted, &raw.failover, &raw.mirroring) {
        (Some(w), _, _) => w.health_check.is_some(),
        (_, Some(f), _) => f.health_check.is_some(),
        (_, _, Some(m)) => m.health_check.is_some(),
        _ => false,
    }
}

/// The keys of the service itself that are wrong: (key below it, reason).
fn own_errors(raw: &RawService) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(f) = &raw.failover {
        if f.service.is_none() {
            out.push((
                ".failover.service".into(),
                "missing: the main service".into(),
            ));
        }
        if f.fallback.is_none() {
            out.push((
                ".failover.fallback".into(),
                "missing: the fallback service".into(),
            ));
        }
        if let Some(Err(why)) = f.errors.as_ref().map(failover_errors) {
            out.push((".failover.errors.status".into(), why));
        }
    }
    if let Some(m) = &raw.mirroring {
        if m.service.is_none() {
            out.push((
                ".mirroring.service".into(),
                "missing: the main service".into(),
            ));
        }
        for (i, mirror) in m.mirrors.iter().enumerate() {
            if mirror.name.as_deref().is_none_or(str::is_empty) {
                let why = "missing: every mirror needs a name";
                out.push((format!(".mirroring.mirrors[{i}].name"), why.into()));
            }
            let percent = mirror.percent.unwrap_or(0);
            if !(0..=100).contains(&percent) {
                let why = format!("must be from 0 to 100, got {percent}");
                out.push((format!(".mirroring.mirrors[{i}].percent"), why));
            }
        }
    }
    if let Some(w) = &raw.weighted {
        for (i, s) in w.services.iter().enumerate() {
            if s.name.as_deref().is_none_or(str::is_empty) {
                let why = "missing: every weighted service needs a name";
                out.push((format!(".weighted.services[{i}].name"), why.into()));
            }
        }
        let names: Vec<&str> = (w.services.iter())
            .filter_map(|s| s.name.as_deref())
            .collect();
        if let Some(c) = w.sticky.as_ref().and_then(|s| s.cookie.as_ref())
            && let Err((k, why)) = super::super::sticky::compile(c, "", &names)
        {
            out.push((format!(".weighted.sticky.cookie.{k}"), why));
        }
    }
    out
}

fn children(raw: &RawService) -> Vec<Child<'_>> {
    let mut out = Vec::new();
    if let Some(w) = &raw.weighted {
        let followed = w.health_check.is_some();
        for (i, s) in w.services.iter().enumerate() {
            if let Some(name) = s.name.as_deref().filter(|n| !n.is_empty()) {
                let key = format!(".weighted.services[{i}].name");
                out.push(Child {
                    key,
                    name,
                    followed,
                    mirror: false,
                });
            }
        }
    }
    if let Some(f) = &raw.failover {
        if let Some(name) = f.service.as_deref() {
            // Traefik follows the main service's state in every failover.
            let key = ".failover.service".to_string();
            out.push(Child {
                key,
                name,
                followed: true,
                mirror: false,
            });
        }
        if let Some(name) = f.fallback.as_deref() {
            let key = ".failover.fallback".to_string();
            let followed = f.health_check.is_some();
            out.push(Child {
                key,
                name,
                followed,
                mirror: false,
            });
        }
    }
    if let Some(m) = &raw.mirroring {
        if let Some(name) = m.service.as_deref() {
            let key = ".mirroring.service".to_string();
            let followed = m.health_check.is_some();
            out.push(Child {
                key,
                name,
                followed,
                mirror: false,
            });
        }
        for (i, mirror) in m.mirrors.iter().enumerate() {
            if let Some(name) = mirror.name.as_deref().filter(|n| !n.is_empty()) {
                let key = format!(".mirroring.mirrors[{i}].name");
                out.push(Child {
                    key,
                    name,
                    followed: false,
                    mirror: true,
                });
            }
        }
    }
    out
}

/// The id of a child already checked good.
fn id(defs: &Defs, index: &mut ServiceIndex, name: &str) -> usize {
    index
        .lookup(defs, name)
        .expect("children are checked before they are compiled")
}

fn weighted(name: &str, raw: &RawWeighted, defs: &Defs, index: &mut ServiceIndex) -> Weighted {
    let services: Vec<WeightedChild> = (raw.services.iter())
        .filter_map(|s| {
            let child = s.name.as_deref()?;
            Some(WeightedChild {
                name: child.to_string(),
                service: id(defs, index, child),
                weight: u32::try_from(s.weight.unwrap_or(1).max(0)).unwrap_or(u32::MAX),
            })
        })
        .collect();
    let names: Vec<&str> = services.iter().map(|c| c.name.as_str()).collect();
    let cookie = raw.sticky.as_ref().and_then(|s| s.cookie.as_ref());
    let qualified = super::super::compile::qualified(name);
    let sticky = cookie.and_then(|c| super::super::sticky::compile(c, &qualified, &names).ok());
    Weighted {
        services,
        sticky: sticky.map(Arc::new),
        health_check: raw.health_check.is_some(),
    }
}

fn failover(raw: &RawFailover, defs: &Defs, index: &mut ServiceIndex) -> Failover {
    let service_name = raw.service.clone().unwrap_or_default();
    let fallback_name = raw.fallback.clone().unwrap_or_default();
    Failover {
        service: id(defs, index, &service_name),
        fallback: id(defs, index, &fallback_name),
        service_name,
        fallback_name,
        health_check: raw.health_check.is_some(),
        errors: raw.errors.as_ref().and_then(|e| failover_errors(e).ok()),
    }
}

/// Traefik's `failover.errors`: no `status` fails nothing over; a negative
/// `maxRequestBodyBytes` (the default) keeps a body of any size.
fn failover_errors(raw: &RawFailoverErrors) -> Result<FailoverErrors, String> {
    Ok(FailoverErrors {
        status: crate::middleware::StatusSet::parse(&raw.status)?,
        max_request_body_bytes: raw
            .max_request_body_bytes
            .and_then(|n| u64::try_from(n).ok()),
    })
}

fn mirroring(raw: &RawMirroring, defs: &Defs, index: &mut ServiceIndex) -> Mirroring {
    let service_name = raw.service.clone().unwrap_or_default();
    let mirrors = (raw.mirrors.iter())
        .filter_map(|m| {
            let name = m.name.clone()?;
            Some(Mirror {
                service: id(defs, index, &name),
                name,
                percent: m.percent.unwrap_or(0).clamp(0, 100) as u32,
            })
        })
        .collect();
    Mirroring {
        service: id(defs, index, &service_name),
        service_name,
        mirrors,
        mirror_body: raw.mirror_body.unwrap_or(super::super::DEFAULT_MIRROR_BODY),
        max_body_size: (raw.max_body_size).unwrap_or(super::super::DEFAULT_MIRROR_MAX_BODY_SIZE),
        health_check: raw.health_check.is_some(),
    }
}

#[cfg(test)]
mod tests;
