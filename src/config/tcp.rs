//! The dynamic `tcp` section → [`TcpConfig`]: routers (rule parsed, entry points
//! and service resolved, `tls` mode) and load-balancer services (addresses
//! resolved here, on the control thread), plus one priority-ordered table per
//! entry point.

use std::net::ToSocketAddrs;
use std::path::Path;
use std::sync::Arc;

use super::compile::{Def, Defs, entry_points_of, insert};
use super::error::ConfigError;
use super::raw_tls::*;
use super::types::StaticConfig;
use crate::config::{TcpConfig, TcpRouter, TcpRule, TcpServer, TcpService, TcpTls};

/// Adds one file's `tcp` definitions to `defs`.
pub fn add_file(defs: &mut Defs, path: &Path, tcp: RawTcp, errors: &mut Vec<ConfigError>) {
    let file = path.display().to_string();
    for (key, present) in [
        ("tcp.middlewares", tcp.middlewares.is_some()),
        ("tcp.serversTransports", tcp.servers_transports.is_some()),
    ] {
        if present {
            errors.push(ConfigError::new(
                &file,
                key,
                format!("`{key}` is not supported yet by proxyd"),
            ));
        }
    }
    insert(
        &mut defs.tcp_routers,
        "tcp.routers",
        path,
        tcp.routers,
        errors,
    );
    insert(
        &mut defs.tcp_services,
        "tcp.services",
        path,
        tcp.services,
        errors,
    );
}

pub fn compile(st: &StaticConfig, defs: &Defs, errors: &mut Vec<ConfigError>) -> TcpConfig {
    let services: Vec<(String, Arc<TcpService>)> = defs
        .tcp_services
        .iter()
        .filter_map(|(name, def)| Some((name.clone(), Arc::new(service(name, def, errors)?))))
        .collect();
    let mut routers = Vec::new();
    let mut router_eps = Vec::new();
    for (name, def) in &defs.tcp_routers {
        if let Some((r, eps)) = router(st, defs, &services, name, def, errors) {
            routers.push(r);
            router_eps.push(eps);
        }
    }
    let tables = st
        .entry_points
        .iter()
        .map(|ep| {
            let mut ids: Vec<u32> = (0..routers.len())
                .filter(|&i| router_eps[i].contains(&ep.name))
                .map(|i| i as u32)
                .collect();
            // Highest priority first; equal priorities by name, as HTTP routers.
            ids.sort_by(|&a, &b| {
                let (a, b) = (&routers[a as usize], &routers[b as usize]);
                b.priority
                    .cmp(&a.priority)
                    .then_with(|| a.name.cmp(&b.name))
            });
            ids
        })
        .collect();
    TcpConfig {
        routers,
        services: services.into_iter().map(|(_, s)| s).collect(),
        tables,
    }
}

fn service(
    name: &str,
    def: &Def<RawTcpService>,
    errors: &mut Vec<ConfigError>,
) -> Option<TcpService> {
    let key = format!("tcp.services.{name}");
    if def.raw.weighted.is_some() {
        errors.push(def.error(
            format!("{key}.weighted"),
            "`weighted` is not supported yet by proxyd",
        ));
        return None;
    }
    let Some(lb) = &def.raw.load_balancer else {
        errors.push(def.error(&key, "missing: a TCP service needs a `loadBalancer`"));
        return None;
    };
    let key = format!("{key}.loadBalancer");
    for (k, present) in [
        ("proxyProtocol", lb.proxy_protocol.is_some()),
        ("serversTransport", lb.servers_transport.is_some()),
        ("terminationDelay", lb.termination_delay.is_some()),
    ] {
        if present {
            errors.push(def.error(
                format!("{key}.{k}"),
                format!("`{k}` is not supported yet by proxyd"),
            ));
        }
    }
    if lb.servers.is_empty() {
        errors.push(def.error(format!("{key}.servers"), "at least one server is required"));
    }
    let before = errors.len();
    let servers = lb
        .servers
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let key = format!("{key}.servers[{i}]");
            if s.tls == Some(true) {
                errors.push(def.error(
                    format!("{key}.tls"),
                    "TLS to TCP servers is not supported yet by proxyd",
                ));
            }
            let Some(address) = &s.address else {
                errors.push(def.error(format!("{key}.address"), "missing: `host:port`"));
                return None;
            };
            let addr = address.to_socket_addrs().ok().and_then(|mut a| a.next());
            let Some(addr) = addr else {
                errors.push(def.error(
                    format!("{key}.address"),
                    format!("{address:?}: not a resolvable host:port"),
                ));
                return None;
            };
            Some(TcpServer {
                address: address.clone(),
                addr,
                weight: s.weight.unwrap_or(super::DEFAULT_SERVER_WEIGHT),
            })
        })
        .collect();
    (errors.len() == before).then(|| TcpService {
        name: super::compile::qualified(name),
        servers,
    })
}

fn router(
    st: &StaticConfig,
    defs: &Defs,
    services: &[(String, Arc<TcpService>)],
    name: &str,
    def: &Def<RawTcpRouter>,
    errors: &mut Vec<ConfigError>,
) -> Option<(TcpRouter, Vec<String>)> {
    let key = format!("tcp.routers.{name}");
    let raw = &def.raw;
    let before = errors.len();
    if !raw.middlewares.is_empty() {
        errors.push(def.error(
            format!("{key}.middlewares"),
            "TCP middlewares are not supported yet by proxyd",
        ));
    }
    let ep_key = |rest: &str| format!("{key}{rest}");
    let eps = entry_points_of(st, &ep_key, &def.file, raw.entry_points.as_ref(), errors);
    let tls = match &raw.tls {
        None => TcpTls::None,
        Some(t) => {
            if t.cert_resolver.is_some() || t.domains.is_some() {
                errors.push(def.error(
                    format!("{key}.tls"),
                    "certResolver and domains are not supported yet by proxyd",
                ));
            }
            if t.passthrough == Some(true) {
                TcpTls::Passthrough
            } else {
                TcpTls::Terminate
            }
        }
    };
    let rule = match raw.rule.as_deref().map(str::trim) {
        Some(src) if !src.is_empty() => match TcpRule::parse(src) {
            Ok(rule) if tls == TcpTls::None && rule.needs_tls() => {
                let why = "HostSNI/HostSNIRegexp/ALPN need `tls` on the router (a plaintext \
                           connection has no SNI); use HostSNI(`*`)";
                errors.push(def.error(format!("{key}.rule"), why));
                None
            }
            Ok(rule) => Some((rule, src.len() as i64)),
            Err(e) => {
                errors.push(def.error(format!("{key}.rule"), e.0));
                None
            }
        },
        _ => {
            errors.push(def.error(format!("{key}.rule"), "missing: every router needs a rule"));
            None
        }
    };
    let service = match &raw.service {
        None => {
            errors.push(def.error(
                format!("{key}.service"),
                "missing: every router needs a service",
            ));
            None
        }
        Some(s) => {
            let def_key = super::compile::def_key(s);
            // `services` is in name order (built from the `BTreeMap`): a search,
            // not a scan per router.
            let found = def_key.map(|k| services.binary_search_by(|(n, _)| n.as_str().cmp(k)));
            match found {
                Some(Ok(i)) => Some(i),
                _ => {
                    let why = super::compile::not_defined(defs, "TCP service", s);
                    errors.push(def.error(format!("{key}.service"), why));
                    None
                }
            }
        }
    };
    if errors.len() > before {
        return None;
    }
    let (rule, len) = rule?;
    Some((
        TcpRouter {
            name: super::compile::qualified(name),
            rule,
            priority: raw.priority.filter(|p| *p != 0).unwrap_or(len),
            service: service?,
            tls,
            tls_options: raw
                .tls
                .as_ref()
                .and_then(|t| t.options.as_deref())
                .map(|o| o.trim_end_matches("@file").to_string()),
        },
        eps,
    ))
}
