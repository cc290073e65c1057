//! Which certificates each resolver should hold, from the static entry points
//! and the current snapshot's routers, as Traefik's ACME provider decides:
//! a router whose `tls.certResolver` (or its entry point's
//! `http.tls.certResolver`) names the resolver wants one certificate per
//! `tls.domains` entry, or else one for all the `Host` names of its rule.

use crate::config::{Domain, Snapshot, StaticConfig};
use crate::router::Rule;

/// (resolver name, domain), without repeats.
pub fn domains(cfg: &StaticConfig, snap: &Snapshot) -> Vec<(String, Domain)> {
    let mut out: Vec<(String, Domain)> = Vec::new();
    let mut add = |resolver: &str, d: Domain| {
        let item = (resolver.to_string(), d);
        if !item.1.main.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    };
    for ep in &cfg.entry_points {
        let Some(tls) = &ep.http_tls else { continue };
        if let Some(r) = &tls.cert_resolver {
            tls.domains.iter().for_each(|d| add(r, d.clone()));
        }
    }
    for router in &snap.routers {
        let ep_tls = router.entry_points.iter().find_map(|name| {
            let ep = cfg.entry_points.iter().find(|e| &e.name == name)?;
            ep.http_tls.as_ref().filter(|t| t.cert_resolver.is_some())
        });
        let own = router.tls.as_ref();
        let Some(resolver) = own
            .and_then(|t| t.cert_resolver.as_ref())
            .or(ep_tls.and_then(|t| t.cert_resolver.as_ref()))
        else {
            continue;
        };
        let listed = own.map(|t| &t.domains).filter(|d| !d.is_empty());
        match listed {
            Some(list) => list.iter().for_each(|d| add(resolver, d.clone())),
            None => {
                let Ok(rule) = Rule::parse(&router.rule) else {
                    continue;
                };
                let mut names = rule.host_names().into_iter();
                if let Some(main) = names.next() {
                    let sans = names.collect();
                    add(resolver, Domain { main, sans });
                }
            }
        }
    }
    out
}
