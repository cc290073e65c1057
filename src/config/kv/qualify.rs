//! Names from a KV store are qualified with its provider, as Traefik does:
//! router `api` in Redis is `api@redis`. Definitions are keyed by that name
//! (file definitions keep their bare name, see `compile::def_key`), and a
//! reference without `@` means the same provider, so it is qualified here too;
//! a qualified one (`auth@file`) is left as written. TLS options and stores
//! stay unqualified: proxyd merges them from every provider into one set
//! (`default` applies wherever no options are named).

use std::collections::BTreeMap;

use crate::config::raw_dynamic::RawDynamic;

/// Qualifies every name defined in `raw` and every unqualified reference.
pub fn qualify(raw: &mut RawDynamic, provider: &str) {
    let q = |name: &mut String| {
        if !name.contains('@') {
            name.push('@');
            name.push_str(provider);
        }
    };
    if let Some(http) = &mut raw.http {
        for r in http.routers.values_mut() {
            r.service.as_mut().map(q);
            r.middlewares.iter_mut().for_each(q);
        }
        for s in http.services.values_mut() {
            if let Some(t) = s
                .load_balancer
                .as_mut()
                .and_then(|lb| lb.servers_transport.as_mut())
            {
                q(t);
            }
            // The children of weighted, failover and mirroring services.
            if let Some(w) = &mut s.weighted {
                w.services.iter_mut().for_each(|c| {
                    c.name.as_mut().map(q);
                });
            }
            if let Some(f) = &mut s.failover {
                f.service.as_mut().map(q);
                f.fallback.as_mut().map(q);
            }
            if let Some(m) = &mut s.mirroring {
                m.service.as_mut().map(q);
                m.mirrors.iter_mut().for_each(|c| {
                    c.name.as_mut().map(q);
                });
            }
        }
        for m in http.middlewares.values_mut() {
            if let Some(chain) = &mut m.chain {
                chain.middlewares.iter_mut().for_each(q);
            }
            if let Some(e) = &mut m.errors {
                e.service.as_mut().map(q);
            }
        }
        keys(&mut http.routers, provider);
        keys(&mut http.services, provider);
        keys(&mut http.middlewares, provider);
        keys(&mut http.servers_transports, provider);
    }
    if let Some(tcp) = &mut raw.tcp {
        for r in tcp.routers.values_mut() {
            r.service.as_mut().map(q);
        }
        keys(&mut tcp.routers, provider);
        keys(&mut tcp.services, provider);
    }
}

/// `name` → `name@provider`; a name that already has `@` is kept, so that
/// the compile step refuses it as it refuses one in a file.
fn keys<T>(map: &mut BTreeMap<String, T>, provider: &str) {
    *map = std::mem::take(map)
        .into_iter()
        .map(|(k, v)| match k.contains('@') {
            true => (k, v),
            false => (format!("{k}@{provider}"), v),
        })
        .collect();
}
