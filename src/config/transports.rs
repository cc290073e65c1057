//! Servers transports (`http.serversTransports.<n>`): their timeouts and
//! pooling limits, their TLS keys (compiled by `transport_tls`), the default
//! transport, a load balancer's reference to one, and the TLS each `https://`
//! server (or TLS health probe) is reached with.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::compile::{Def, Defs, def_key, not_defined, split_provider};
use super::duration::ConfigDuration;
use super::error::ConfigError;
use super::raw_dynamic::*;
use super::services::LookupError;
use super::transport_tls::{ALPN_H1, ALPN_H2};
use super::types::*;
use super::upstream_url;
use super::*;

pub(super) fn lookup_transport(
    name: Option<&str>,
    transports: &BTreeMap<&str, Option<ServersTransport>>,
    defs: &Defs,
) -> Result<ServersTransport, LookupError> {
    let Some(name) = name else {
        return Ok(default_transport());
    };
    match split_provider(name) {
        ("default", Some("internal")) => Ok(default_transport()),
        (_, None | Some("file" | "redis" | "etcd")) => {
            match transports.get(def_key(name).unwrap_or(name)) {
                Some(Some(t)) => Ok(t.clone()),
                Some(None) => Err(None),
                None => Err(Some(not_defined(defs, "serversTransport", name))),
            }
        }
        _ => Err(Some(format!(
            "serversTransport `{name}` is not defined (use a name from http.serversTransports or default@internal)"
        ))),
    }
}

/// Traefik's defaults, under Traefik's name for them.
/// `default@internal`, the transport of a load balancer that names none.
impl Default for ServersTransport {
    fn default() -> Self {
        default_transport()
    }
}

pub fn default_transport() -> ServersTransport {
    ServersTransport {
        name: DEFAULT_SERVERS_TRANSPORT.to_string(),
        dial_timeout: DEFAULT_DIAL_TIMEOUT,
        response_header_timeout: DEFAULT_RESPONSE_HEADER_TIMEOUT,
        read_timeout: DEFAULT_UPSTREAM_READ_TIMEOUT,
        write_timeout: DEFAULT_UPSTREAM_WRITE_TIMEOUT,
        idle_conn_timeout: DEFAULT_IDLE_CONN_TIMEOUT,
        max_idle_conns_per_host: DEFAULT_MAX_IDLE_CONNS_PER_HOST,
        tls: None,
    }
}

/// The TLS a health probe of `server` speaks: the server's own, unless the
/// health check's `scheme` says otherwise (`https` on an `http://` server
/// uses the transport's TLS settings, as Traefik's probe does).
pub fn probe_tls(
    lb: &LoadBalancer,
    server: &Server,
) -> Result<Option<Arc<crate::net::upstream_tls::TlsTarget>>, String> {
    let scheme = lb.health_check.as_ref().and_then(|c| c.tls);
    let tls = match (scheme, &server.tls) {
        (None, tls) | (Some(true), tls @ Some(_)) => tls.clone(),
        (Some(false), _) => None,
        (Some(true), None) => {
            let url = upstream_url::parse(&server.url)?;
            Some(upstream_tls(&lb.transport, &url.host)?)
        }
    };
    // HTTP probes speak HTTP/1.1: a server that prefers h2 must not be
    // offered it; gRPC needs h2, so only h2 is offered.
    let grpc = lb.health_check.as_ref().is_some_and(|c| c.grpc);
    Ok(tls.map(|t| super::transport_tls::only(&t, if grpc { ALPN_H2 } else { ALPN_H1 })))
}

/// How an `https://` server is reached: its transport's TLS settings (or the
/// defaults) and the name to verify.
pub(super) fn upstream_tls(
    t: &ServersTransport,
    host: &str,
) -> Result<Arc<crate::net::upstream_tls::TlsTarget>, String> {
    let tls = match &t.tls {
        Some(tls) => tls.clone(),
        None => super::transport_tls::default_tls()?,
    };
    super::transport_tls::target(&tls, host)
}

pub(super) fn transport(
    name: &str,
    def: &Def<RawServersTransport>,
    extra: &super::transport_tls::Extra,
) -> Result<ServersTransport, Vec<ConfigError>> {
    let key = format!("http.serversTransports.{name}");
    let tls = super::transport_tls::compile(&def.file, &def.raw, extra).map_err(|bad| {
        let each = bad.into_iter();
        each.map(|(k, why)| def.error(format!("{key}.{k}"), why))
            .collect::<Vec<_>>()
    })?;
    transport_timeouts(name, def, tls).map_err(|e| vec![e])
}

fn transport_timeouts(
    name: &str,
    def: &Def<RawServersTransport>,
    tls: Option<Arc<super::transport_tls::TransportTls>>,
) -> Result<ServersTransport, ConfigError> {
    let key = format!("http.serversTransports.{name}");
    let t = def.raw.forwarding_timeouts.as_ref();
    let fkey = format!("{key}.forwardingTimeouts");
    let defaults = default_transport();
    let max_idle =
        def.raw
            .max_idle_conns_per_host
            .map_or(Ok(defaults.max_idle_conns_per_host), |n| {
                usize::try_from(n)
                    .map_err(|_| def.error(format!("{key}.maxIdleConnsPerHost"), "too large"))
            })?;
    Ok(ServersTransport {
        name: super::compile::qualified(name),
        dial_timeout: positive(t.and_then(|t| t.dial_timeout), defaults.dial_timeout)
            .map_err(|why| def.error(format!("{fkey}.dialTimeout"), why))?,
        // Zero means "wait forever", as in Traefik.
        response_header_timeout: or_unlimited(
            t.and_then(|t| t.response_header_timeout),
            defaults.response_header_timeout,
        ),
        read_timeout: or_unlimited(t.and_then(|t| t.read_timeout), defaults.read_timeout),
        write_timeout: or_unlimited(t.and_then(|t| t.write_timeout), defaults.write_timeout),
        idle_conn_timeout: positive(
            t.and_then(|t| t.idle_conn_timeout),
            defaults.idle_conn_timeout,
        )
        .map_err(|why| def.error(format!("{fkey}.idleConnTimeout"), why))?,
        max_idle_conns_per_host: max_idle,
        tls,
    })
}

/// A limit where `0` means none.
fn or_unlimited(value: Option<ConfigDuration>, default: Option<Duration>) -> Option<Duration> {
    match value {
        None => default,
        Some(d) => Some(d.0).filter(|d| !d.is_zero()),
    }
}

/// proxyd always bounds dialing and idle pooling (Traefik lets 0 mean
/// "unbounded"); use `maxIdleConnsPerHost = 0` to disable pooling instead.
fn positive(value: Option<ConfigDuration>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(d) if d.0.is_zero() => Err("must be above 0 in proxyd".into()),
        Some(d) => Ok(d.0),
    }
}
