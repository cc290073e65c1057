//! Services of the dynamic configuration: validating each definition, its
//! servers and its transport reference (transports: `transports.rs`), and the
//! index routers use to find a service by (possibly qualified) name.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::compile::{Def, Defs, KeyFn, def_key, not_defined, split_provider};
use super::error::ConfigError;
use super::raw_dynamic::*;
use super::transports::{lookup_transport, transport, upstream_tls};
use super::types::*;
use super::upstream_url;
use super::*;

mod composite;
mod passive;
pub use passive::carry as carry_passive;

/// Compiled services and where to find them by qualified name.
#[derive(Default)]
pub struct ServiceIndex {
    pub services: Vec<Service>,
    /// `app@file` by its bare name `app`: every router looks its service up here,
    /// so without building the qualified name, and in a hash map (no order needed).
    files: FxHashMap<String, usize>,
    /// Built-ins by qualified name (`whoami@internal`).
    internals: FxHashMap<String, usize>,
}

/// Why a reference did not resolve: `Some(reason)`, or `None` when the target
/// exists but is itself invalid (already reported; saying more would be noise).
pub type LookupError = Option<String>;

impl ServiceIndex {
    fn add(&mut self, service: Service) -> usize {
        self.services.push(service);
        self.services.len() - 1
    }

    /// Finds `app`, `app@file` or a built-in `name@internal`.
    pub fn lookup(&mut self, defs: &Defs, name: &str) -> Result<usize, LookupError> {
        match split_provider(name) {
            (_, None | Some("file" | "redis" | "etcd")) => {
                let key = def_key(name).unwrap_or(name);
                match self.files.get(key) {
                    Some(id) => Ok(*id),
                    None if defs.services.contains_key(key) => Err(None),
                    None => Err(Some(not_defined(defs, "service", name))),
                }
            }
            ("whoami", Some("internal")) => {
                Ok(self.internal("whoami@internal", ServiceKind::Whoami))
            }
            (base, Some("internal")) => match crate::config::observe::Internal::from_base(base) {
                Some(k) => Ok(self.internal(k.name(), ServiceKind::Observe(k))),
                None => Err(Some(format!(
                    "unknown internal service `{name}` (proxyd provides whoami, api, dashboard, ping and prometheus @internal)"
                ))),
            },
            (_, Some(p)) => Err(Some(format!(
                "service `{name}`: provider `{p}` does not exist (use `@file`, `@redis`, `@etcd` or `@internal`)"
            ))),
        }
    }

    /// Built-ins are added only when referenced, so unused ones cost nothing.
    pub fn internal(&mut self, name: &str, kind: ServiceKind) -> usize {
        if let Some(id) = self.internals.get(name) {
            return *id;
        }
        let id = self.add(Service {
            name: name.to_string(),
            kind,
        });
        self.internals.insert(name.to_string(), id);
        id
    }
}

/// Compiles every transport, then every service.
pub fn compile_all(
    defs: &Defs,
    extra: &super::transport_tls::Extra,
    errors: &mut Vec<ConfigError>,
) -> ServiceIndex {
    let transports: BTreeMap<&str, Option<ServersTransport>> = defs
        .transports
        .iter()
        .map(|(name, def)| {
            (
                name.as_str(),
                transport(name, def, extra)
                    .map_err(|e| errors.extend(e))
                    .ok(),
            )
        })
        .collect();
    let mut index = ServiceIndex::default();
    for (name, def) in &defs.services {
        if let Some(kind) = service(name, def, &transports, defs, errors) {
            let id = index.add(Service {
                name: super::compile::qualified(name),
                kind,
            });
            index.files.insert(name.clone(), id);
        }
    }
    composite::compile_all(defs, &mut index, errors);
    index
}

fn service(
    name: &str,
    def: &Def<RawService>,
    transports: &BTreeMap<&str, Option<ServersTransport>>,
    defs: &Defs,
    errors: &mut Vec<ConfigError>,
) -> Option<ServiceKind> {
    let key = |rest: &str| format!("http.services.{name}{rest}");
    let raw = &def.raw;
    let kinds = [
        ("loadBalancer", raw.load_balancer.is_some()),
        ("respond", raw.respond.is_some()),
        ("weighted", raw.weighted.is_some()),
        ("failover", raw.failover.is_some()),
        ("mirroring", raw.mirroring.is_some()),
    ];
    let present: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
    let result = match (&raw.load_balancer, &raw.respond) {
        _ if present.len() > 1 => {
            Err(vec![def.error(
                key(""),
                format!("has {}; keep one", present.join(" and ")),
            )])
        }
        _ if present.is_empty() => Err(vec![def.error(
            key(""),
            "needs `loadBalancer`, `weighted`, `failover`, `mirroring` or `respond`",
        )]),
        // Services of services: compiled once every other service exists.
        (None, None) => Err(vec![]),
        (Some(lb), _) => {
            load_balancer(name, &key, def, lb, transports, defs).map(ServiceKind::LoadBalancer)
        }
        (None, Some(r)) => respond(r)
            .map(ServiceKind::Respond)
            .map_err(|(k, why)| vec![def.error(key(&format!(".respond.{k}")), why)]),
    };
    result.map_err(|e| errors.extend(e)).ok()
}

fn load_balancer(
    name: &str,
    key: KeyFn,
    def: &Def<RawService>,
    raw: &RawLoadBalancer,
    transports: &BTreeMap<&str, Option<ServersTransport>>,
    defs: &Defs,
) -> Result<LoadBalancer, Vec<ConfigError>> {
    // No server, or only weight-0 servers, is valid as in Traefik: requests get 503
    // ("no available server") until servers are added.
    let mut errors = Vec::new();
    let transport =
        lookup_transport(raw.servers_transport.as_deref(), transports, defs).map_err(|why| {
            why.map(|r| errors.push(def.error(key(".loadBalancer.serversTransport"), r)))
        });
    let servers: Vec<Server> = (raw.servers.iter().enumerate())
        .filter_map(|(i, s)| {
            let url_key = || key(&format!(".loadBalancer.servers[{i}].url"));
            server(s, transport.as_ref().ok())
                .map_err(|why| errors.push(def.error(url_key(), why)))
                .ok()
        })
        .collect();
    let strategy = raw
        .strategy
        .as_deref()
        .map_or(Ok(Strategy::Wrr), Strategy::parse);
    let strategy = strategy.unwrap_or_else(|why| {
        errors.push(def.error(key(".loadBalancer.strategy"), why));
        Strategy::Wrr
    });
    let cookie = raw.sticky.as_ref().and_then(|s| s.cookie.as_ref());
    let sticky = cookie.and_then(|c| {
        let qualified = super::compile::qualified(name);
        let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
        super::sticky::compile(c, &qualified, &urls)
            .map_err(|(k, why)| {
                errors.push(def.error(key(&format!(".loadBalancer.sticky.cookie.{k}")), why))
            })
            .ok()
    });
    let flush = raw
        .response_forwarding
        .as_ref()
        .and_then(|f| f.flush_interval.as_ref());
    if let Some(Err(why)) = flush.map(flush_interval) {
        errors.push(def.error(key(".loadBalancer.responseForwarding.flushInterval"), why));
    }
    let health_check = raw.health_check.as_ref().map(|h| {
        super::health::compile(h).map_err(|bad| {
            for (k, why) in bad {
                errors.push(def.error(key(&format!(".loadBalancer.healthCheck.{k}")), why));
            }
        })
    });
    let passive = raw.passive_health_check.as_ref().and_then(|p| {
        let compiled = passive::compile(p, &servers).map_err(|bad| {
            for (k, why) in bad {
                let k = format!(".loadBalancer.passiveHealthCheck.{k}");
                errors.push(def.error(key(&k), why));
            }
        });
        compiled.ok()
    });
    let lb = match (transport, health_check.transpose()) {
        (Ok(transport), Ok(health_check)) if errors.is_empty() => LoadBalancer {
            passive,
            servers: share_health(servers),
            pass_host_header: raw.pass_host_header.unwrap_or(DEFAULT_PASS_HOST_HEADER),
            transport,
            health_check: health_check.map(Arc::new),
            strategy,
            sticky: sticky.map(Arc::new),
        },
        _ => return Err(errors),
    };
    // The prober builds the same at its reconcile: any error shows here first.
    for s in &lb.servers {
        if let Err(why) = probe_tls(&lb, s) {
            errors.push(def.error(key(".loadBalancer.healthCheck.scheme"), why));
        }
        // HTTP probes speak HTTP/1.1, which an h2c server would not answer.
        if s.h2c && lb.health_check.as_ref().is_some_and(|c| !c.grpc) {
            let why = format!(
                "{}: an h2c:// server is probed with `mode = \"grpc\"` only (HTTP probes \
                 speak HTTP/1.1)",
                s.url
            );
            errors.push(def.error(key(".loadBalancer.healthCheck"), why));
        }
    }
    if errors.is_empty() {
        Ok(lb)
    } else {
        Err(errors)
    }
}

/// Checks `responseForwarding.flushInterval`: Traefik's duration (its
/// default is 100ms), or a negative value for "after every write". proxyd
/// writes each piece of a response body to the client as soon as it is read
/// from the upstream, never holding bytes back, which is what the negative
/// value asks for; every valid value is therefore served that way (no
/// coalescing of small writes for a positive interval).
fn flush_interval(v: &RawFlushInterval) -> Result<(), String> {
    let text = match v {
        RawFlushInterval::Number(_) => return Ok(()),
        RawFlushInterval::Text(t) => t.trim(),
    };
    let magnitude = text.strip_prefix('-').unwrap_or(text);
    super::parse_duration(magnitude)
        .map(|_| ())
        .map_err(|e| format!("{text:?}: {e}"))
}

/// The same URL listed twice is one server to probe: both entries share its flag.
fn share_health(mut servers: Vec<Server>) -> Vec<Server> {
    if servers.len() < 2 {
        return servers;
    }
    let mut first: FxHashMap<String, Health> = FxHashMap::default();
    for s in &mut servers {
        match first.get(&s.url) {
            Some(h) => s.health = h.clone(),
            None => {
                first.insert(s.url.clone(), s.health.clone());
            }
        }
    }
    servers
}

/// One server; `transport` is `None` when it did not resolve (already reported).
fn server(raw: &RawServer, transport: Option<&ServersTransport>) -> Result<Server, String> {
    let url = raw
        .url
        .as_deref()
        .ok_or("missing: every server needs a url")?;
    let parsed = upstream_url::parse(url)?;
    // Traefik v3 forwards the request's own path: the URL's path is joined in
    // front of it only with `preservePath`.
    let preserve = raw.preserve_path.unwrap_or(false);
    if !preserve && !parsed.path_prefix.is_empty() {
        log::warn!(
            "server {url}: its path {} is not sent upstream without preservePath = true (as in Traefik v3)",
            parsed.path_prefix
        );
    }
    Ok(Server {
        url: url.to_string(),
        addr: super::server_addr::ServerAddr::new(&parsed.host, parsed.port),
        authority: parsed.authority,
        path_prefix: if preserve {
            parsed.path_prefix
        } else {
            String::new()
        },
        weight: raw.weight.unwrap_or(DEFAULT_SERVER_WEIGHT),
        health: Health::new(),
        tls: match transport {
            Some(t) if parsed.tls => Some(upstream_tls(t, &parsed.host)?),
            _ => None,
        },
        h2c: parsed.h2c,
    })
}

/// The `respond` extension; an error names its key below `respond`.
fn respond(raw: &RawRespond) -> Result<Respond, (&'static str, String)> {
    let status = raw.status.unwrap_or(DEFAULT_RESPOND_STATUS);
    if !(200..=599).contains(&status) {
        let why = format!("must be from 200 to 599, got {status}");
        return Err(("status", why));
    }
    let body = raw.body.clone().unwrap_or_default();
    // These statuses never carry a body on the wire (RFC 9110).
    if matches!(status, 204 | 304) && !body.is_empty() {
        return Err(("body", format!("status {status} cannot have a body")));
    }
    Ok(Respond {
        status,
        content_type: raw
            .content_type
            .clone()
            .unwrap_or_else(|| DEFAULT_RESPOND_CONTENT_TYPE.into()),
        body: body.into_bytes(),
    })
}
