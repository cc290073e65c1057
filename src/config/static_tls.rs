//! The TLS-related static keys of an entry point: `http.tls` (every router on it
//! is TLS) and `http.redirections.entryPoint` (the HTTP→HTTPS redirect), checked
//! once every entry point is known since `to` names another one.

use std::collections::BTreeMap;

use super::error::Collector;
use super::raw_static::RawEntryPoint;
use super::types::{DEFAULT_REDIRECT_PRIORITY, EntryPoint, EntryRedirect, RouterTls};

pub fn apply(raw: &BTreeMap<String, RawEntryPoint>, eps: &mut [EntryPoint], c: &mut Collector) {
    let ports: Vec<(String, u16)> = eps
        .iter()
        .map(|e| (e.name.clone(), e.address.port()))
        .collect();
    for ep in eps.iter_mut() {
        let Some(http) = raw.get(&ep.name).and_then(|r| r.http.as_ref()) else {
            continue;
        };
        let key = format!("entryPoints.{}.http", ep.name);
        if let Some(tls) = &http.tls {
            let domains = super::static_acme::domains(
                tls.domains.as_deref().unwrap_or_default(),
                &format!("{key}.tls.domains"),
                &mut |k, r| c.push(k, r),
            );
            ep.http_tls = Some(RouterTls {
                options: tls
                    .options
                    .as_deref()
                    .map(|o| o.trim_end_matches("@file").to_string()),
                cert_resolver: tls.cert_resolver.clone().filter(|r| !r.is_empty()),
                domains,
            });
        }
        let Some(r) = http
            .redirections
            .as_ref()
            .and_then(|r| r.entry_point.as_ref())
        else {
            continue;
        };
        let key = format!("{key}.redirections.entryPoint");
        let Some(to) = &r.to else {
            c.push(
                format!("{key}.to"),
                "missing: the entry point (or \":port\") to redirect to",
            );
            continue;
        };
        let port = match to.strip_prefix(':') {
            Some(p) => p.parse::<u16>().map_err(|_| format!("{to:?}: bad port")),
            None => ports
                .iter()
                .find(|(n, _)| n == to)
                .map(|(_, p)| *p)
                .ok_or_else(|| format!("entry point `{to}` is not defined")),
        };
        let Some(port) = c.check(&format!("{key}.to"), port) else {
            continue;
        };
        let scheme = r.scheme.clone().unwrap_or_else(|| "https".into());
        if scheme != "https" && scheme != "http" {
            c.push(
                format!("{key}.scheme"),
                format!("{scheme:?}: expected \"https\" or \"http\""),
            );
        }
        // Traefik leaves the scheme's own port out of the Location.
        let default_port = if scheme == "https" { 443 } else { 80 };
        ep.redirect = Some(EntryRedirect {
            to: to.clone(),
            port: (port != default_port).then_some(port),
            scheme,
            permanent: r.permanent.unwrap_or(true),
            priority: r
                .priority
                .filter(|p| *p != 0)
                .unwrap_or(DEFAULT_REDIRECT_PRIORITY),
        });
    }
}

/// Adds Traefik's internal redirect router (rule ``PathPrefix(`/`)``, the
/// configured priority) to every entry point with `http.redirections`. It only
/// serves plaintext connections, so it sits in the plaintext table alone.
pub fn add_redirect_routers(
    st: &super::types::StaticConfig,
    resolved: &mut super::compile::Resolved,
    rules: &mut Vec<Option<crate::router::Rule>>,
) {
    use std::sync::Arc;

    use super::types::{Redirect, Router, Service, ServiceKind};
    for ep in &st.entry_points {
        let Some(r) = &ep.redirect else { continue };
        let name = format!("{}-to-{}", ep.name, r.to.trim_start_matches(':'));
        resolved.services.push(Arc::new(Service {
            name: format!("{name}@internal"),
            kind: ServiceKind::Redirect(Redirect {
                scheme: r.scheme.clone(),
                port: r.port,
                permanent: r.permanent,
            }),
        }));
        let rule = "PathPrefix(`/`)";
        resolved.routers.push(Router {
            name: format!("{name}@internal"),
            rule: rule.into(),
            priority: r.priority,
            entry_points: vec![ep.name.clone()],
            service: resolved.services.len() - 1,
            tls: None,
            middlewares: Default::default(),
        });
        resolved.router_files.push(st.source.as_path().into());
        rules.push(crate::router::Rule::parse(rule).ok());
    }
}
