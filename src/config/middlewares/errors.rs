//! `errors` definitions → [`Errors`]: status ranges and `statusRewrites`
//! parsed, the query normalised to start with `/`; the service is resolved
//! once every service is compiled ([`link`]): it must be a load balancer.

use super::{MiddlewareIndex, Refusal};
use crate::config::ServiceKind;
use crate::config::compile::{Defs, split_provider};
use crate::config::error::ConfigError;
use crate::config::raw_middleware::RawErrors;
use crate::config::services::ServiceIndex;
use crate::middleware::Middleware;
use crate::middleware::errors::parse_ranges;

/// Not resolved yet ([`link`] sets it).
const UNLINKED: usize = usize::MAX;

pub(super) fn compile(m: &RawErrors) -> Result<Middleware, Refusal> {
    let status = parse_ranges(&m.status).map_err(|why| ("status".to_string(), why))?;
    let mut status_rewrites = Vec::new();
    for (from, &to) in &m.status_rewrites {
        let key = || format!("statusRewrites.{from}");
        let ranges = parse_ranges(std::slice::from_ref(from)).map_err(|why| (key(), why))?;
        let to = u16::try_from(to)
            .ok()
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| (key(), format!("{to} is not an HTTP status")))?;
        status_rewrites.push((ranges, to));
    }
    if m.service.as_deref().unwrap_or("").is_empty() {
        return Err((
            "service".into(),
            "missing: the service serving the error pages is required".into(),
        ));
    }
    let query = match m.query.as_deref().unwrap_or("") {
        "" => String::new(),
        q => format!("/{}", q.trim_start_matches('/')),
    };
    Ok(Middleware::Errors(crate::middleware::Errors {
        status,
        status_rewrites,
        service: UNLINKED,
        query,
        error_request_headers: m.error_request_headers.clone(),
    }))
}

/// Resolves each `errors` middleware's service, now that services exist.
pub fn link(
    mws: &mut MiddlewareIndex,
    defs: &Defs,
    services: &mut ServiceIndex,
    errors: &mut Vec<ConfigError>,
) {
    for def in &mut mws.defs {
        let Some(def) = std::sync::Arc::get_mut(def) else {
            continue;
        };
        let Middleware::Errors(e) = &mut def.kind else {
            continue;
        };
        let base = split_provider(&def.name).0;
        let Some(raw) = defs.middlewares.get(base) else {
            continue;
        };
        let name = raw.raw.errors.as_ref().and_then(|r| r.service.as_deref());
        let key = format!("http.middlewares.{base}.errors.service");
        match services.lookup(defs, name.unwrap_or("")) {
            // Services of services are walked down to a load balancer per
            // page, as for requests.
            Ok(id)
                if matches!(
                    services.services[id].kind,
                    ServiceKind::LoadBalancer(_)
                        | ServiceKind::Weighted(_)
                        | ServiceKind::Failover(_)
                        | ServiceKind::Mirroring(_)
                ) =>
            {
                e.service = id;
            }
            Ok(_) => errors.push(raw.error(
                key,
                "error pages come from a loadBalancer service or a weighted, failover or mirroring one over load balancers (other kinds are not supported yet)",
            )),
            Err(Some(reason)) => errors.push(raw.error(key, reason)),
            Err(None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::errs;

    const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

    #[test]
    fn bad_definitions_name_the_key() {
        for (def, key, why) in [
            (
                "status = [\"5xx\"]\nservice = \"s\"",
                "status",
                "not a status",
            ),
            ("status = [\"500\"]", "service", "missing"),
            ("status = [\"500\"]\nservice = \"nope\"", "service", "nope"),
            (
                "status = [\"500\"]\nservice = \"s\"",
                "service",
                "loadBalancer",
            ),
            (
                "status = [\"500\"]\nservice = \"s\"\nstatusRewrites = { \"500\" = 42 }",
                "statusRewrites.500",
                "not an HTTP status",
            ),
        ] {
            let text = format!("{SVC}[http.middlewares.a.errors]\n{def}\n");
            let (_, e) = errs(&[("m.toml", &text)]);
            let key = format!("http.middlewares.a.errors.{key}");
            assert!(
                e.iter().any(|e| e.key == key && e.reason.contains(why)),
                "{def}: {e:?}"
            );
        }
    }
}
