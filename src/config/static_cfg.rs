//! Validation of the static file: [`RawStatic`] → [`StaticConfig`], applying
//! Traefik's defaults and checking addresses, CIDRs, the provider and workers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::duration::ConfigDuration;
use super::error::{Collector, ConfigError, ConfigErrors};
use super::raw_static::*;
use super::refused_keys;
use super::traefik_keys::Schema;
use super::*;

/// Reads, parses and validates the static file at `path`.
pub fn load(path: &Path) -> Result<StaticConfig, ConfigErrors> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            file,
            "",
            format!("cannot read: {e}"),
        )])
    })?;
    let raw: RawStatic = refused_keys::parse(path, &src, Schema::Static).map_err(ConfigErrors)?;
    let mut errors = Vec::new();
    let cfg = validate(raw, path, &mut Collector::new(path, &mut errors));
    refused_keys::add_positions(&src, &mut errors);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

fn validate(raw: RawStatic, path: &Path, c: &mut Collector) -> StaticConfig {
    for key in raw.unsupported_sections() {
        c.push(key, format!("`{key}` is not supported yet by proxyd"));
    }
    if raw.entry_points.is_empty() {
        c.push("entryPoints", "at least one entry point is required");
    }
    let entry_points: Vec<EntryPoint> = raw
        .entry_points
        .iter()
        .filter_map(|(name, ep)| entry_point(name, ep, c))
        .collect();
    check_address_clashes(&entry_points, c);
    let mut entry_points = entry_points;
    super::static_tls::apply(&raw.entry_points, &mut entry_points, c);
    let base = path.parent().unwrap_or(Path::new("."));
    let sections = crate::config::observe::RawSections {
        access_log: raw.access_log.as_ref(),
        metrics: raw.metrics.as_ref(),
        api: raw.api.as_ref(),
        ping: raw.ping.as_ref(),
    };
    let observe =
        crate::config::observe::validate(sections, &entry_points, &mut |k, r| c.push(k, r));
    let providers = raw.providers.unwrap_or_default();
    let entry_points_for_acme = entry_points.clone();
    StaticConfig {
        source: path.to_path_buf(),
        entry_points,
        provider: providers.file.and_then(|f| file_provider(&f, base, c)),
        kv: super::kv::providers(providers.redis, providers.etcd, c),
        providers_throttle: providers
            .providers_throttle_duration
            .map_or(DEFAULT_PROVIDERS_THROTTLE, |d| d.0),
        workers: workers(raw.workers.unwrap_or_default(), c),
        log_level: raw
            .log
            .and_then(|l| l.level)
            .map_or(DEFAULT_LOG_LEVEL, |level| {
                c.check("log.level", log_level(&level))
                    .unwrap_or(DEFAULT_LOG_LEVEL)
            }),
        observe,
        cert_resolvers: super::static_acme::resolvers(
            &raw.certificates_resolvers,
            &entry_points_for_acme,
            c,
        ),
    }
}

fn entry_point(name: &str, raw: &RawEntryPoint, c: &mut Collector) -> Option<EntryPoint> {
    let key = format!("entryPoints.{name}");
    let Some(address) = &raw.address else {
        c.push(
            format!("{key}.address"),
            "missing: every entry point needs an address",
        );
        return None;
    };
    let address = c.check(&format!("{key}.address"), parse_address(address))?;
    let transport = raw.transport.as_ref();
    let timeouts = transport.and_then(|t| t.responding_timeouts.as_ref());
    let life = transport.and_then(|t| t.life_cycle.as_ref());
    let fwd = raw.forwarded_headers.as_ref();
    Some(EntryPoint {
        name: name.to_string(),
        address,
        read_timeout: optional(
            timeouts.and_then(|t| t.read_timeout),
            Some(DEFAULT_READ_TIMEOUT),
        ),
        write_timeout: optional(
            timeouts.and_then(|t| t.write_timeout),
            DEFAULT_WRITE_TIMEOUT,
        ),
        idle_timeout: optional(
            timeouts.and_then(|t| t.idle_timeout),
            Some(DEFAULT_IDLE_TIMEOUT),
        ),
        request_accept_grace_timeout: life
            .and_then(|l| l.request_accept_grace_timeout)
            .map_or(DEFAULT_REQUEST_ACCEPT_GRACE_TIMEOUT, |d| d.0),
        grace_timeout: life
            .and_then(|l| l.grace_timeout)
            .map_or(DEFAULT_GRACE_TIMEOUT, |d| d.0),
        trusted_ips: trusted_ips(&key, fwd.map_or(&[][..], |f| &f.trusted_ips), c),
        forwarded_insecure: fwd.and_then(|f| f.insecure).unwrap_or(false),
        max_header_bytes: max_header_bytes(&key, raw, c),
        max_connections: max_connections(raw),
        http2_max_streams: raw
            .http2
            .as_ref()
            .and_then(|h| h.max_concurrent_streams)
            .unwrap_or(DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS),
        http2_decoder_table: raw
            .http2
            .as_ref()
            .and_then(|h| h.max_decoder_header_table_size)
            .unwrap_or(DEFAULT_HTTP2_DECODER_TABLE_SIZE),
        // 0 means no limit, like maxConnections.
        max_request_body_bytes: transport
            .and_then(|t| t.max_request_body_bytes)
            .filter(|&n| n > 0),
        // Filled in by `static_tls::apply` once every entry point is known.
        http_tls: None,
        redirect: None,
        middlewares: raw
            .http
            .as_ref()
            .map(|h| h.middlewares.clone())
            .unwrap_or_default(),
    })
}

/// Zero means "no timeout" (Go's convention, which Traefik inherits).
fn optional(value: Option<ConfigDuration>, default: Option<Duration>) -> Option<Duration> {
    match value {
        None => default,
        Some(d) if d.0.is_zero() => None,
        Some(d) => Some(d.0),
    }
}

fn max_header_bytes(key: &str, raw: &RawEntryPoint, c: &mut Collector) -> usize {
    let Some(n) = raw.http.as_ref().and_then(|h| h.max_header_bytes) else {
        return DEFAULT_MAX_HEADER_BYTES;
    };
    match usize::try_from(n) {
        Ok(n) if n > 0 => n,
        _ => {
            c.push(
                format!("{key}.http.maxHeaderBytes"),
                format!("must be > 0, got {n}"),
            );
            DEFAULT_MAX_HEADER_BYTES
        }
    }
}

/// Traefik's (and Go's) default `http2.maxConcurrentStreams`.
pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 250;
/// Traefik's default `http2.maxDecoderHeaderTableSize` (HPACK's own default).
pub const DEFAULT_HTTP2_DECODER_TABLE_SIZE: u32 = 4096;

/// proxyd extension; 0 (the default) means no limit.
/// (A negative value is refused by the parser, naming the key.)
fn max_connections(raw: &RawEntryPoint) -> usize {
    // Saturates where usize is narrower than u64: no count of sockets reaches it.
    raw.max_connections
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// `":8080"` (all IPv4 interfaces), `"1.2.3.4:80"`, `"[::1]:80"`; an optional
/// `/tcp` suffix as Traefik allows. Host names are refused: a listener should
/// not depend on DNS.
pub fn parse_address(src: &str) -> Result<SocketAddr, String> {
    let addr = src.strip_suffix("/tcp").unwrap_or(src);
    if addr.ends_with("/udp") {
        return Err(format!("{src:?}: UDP entry points are not supported yet"));
    }
    if let Some(port) = addr.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{src:?}: port must be a number from 0 to 65535"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    addr.parse()
        .map_err(|_| format!("{src:?}: expected \":port\", \"ip:port\" or \"[ipv6]:port\""))
}

fn check_address_clashes(eps: &[EntryPoint], c: &mut Collector) {
    for (i, a) in eps.iter().enumerate() {
        // Port 0 asks the kernel for a fresh port each time: never a clash.
        let clash = eps[..i]
            .iter()
            .find(|b| a.address.port() != 0 && b.address == a.address);
        if let Some(b) = clash {
            let reason = format!(
                "{} is also the address of entry point `{}`",
                a.address, b.name
            );
            c.push(format!("entryPoints.{}.address", a.name), reason);
        }
    }
}

fn trusted_ips(key: &str, list: &[String], c: &mut Collector) -> Vec<ipnet::IpNet> {
    let key = format!("{key}.forwardedHeaders.trustedIPs");
    list.iter()
        .filter_map(|s| c.check(&key, parse_ip_net(s)))
        .collect()
}

/// A CIDR, or a bare IP meaning just that address.
pub fn parse_ip_net(src: &str) -> Result<ipnet::IpNet, String> {
    let s = src.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{src:?} is neither an IP address nor a CIDR"))
}

fn file_provider(raw: &RawFileProvider, base: &Path, c: &mut Collector) -> Option<FileProvider> {
    let (path, is_directory) = match (&raw.directory, &raw.filename) {
        (Some(d), None) => (d, true),
        (None, Some(f)) => (f, false),
        (Some(_), Some(_)) => {
            c.push(
                "providers.file",
                "set either `directory` or `filename`, not both",
            );
            return None;
        }
        (None, None) => {
            c.push("providers.file", "set `directory` or `filename`");
            return None;
        }
    };
    Some(FileProvider {
        path: resolve(base, path),
        is_directory,
        watch: raw.watch.unwrap_or(DEFAULT_WATCH),
    })
}

/// Relative provider paths are relative to the static file, not the cwd, so a
/// config directory can be moved as a whole.
fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn workers(raw: RawWorkers, c: &mut Collector) -> Workers {
    let cores = raw.cores.and_then(|n| match usize::try_from(n) {
        Ok(n) if n > 0 => Some(n),
        _ => c.check("workers.cores", Err(format!("must be at least 1, got {n}"))),
    });
    let io_driver = raw.io_driver.map_or(IoDriver::Auto, |s| {
        c.check("workers.ioDriver", io_driver(&s))
            .unwrap_or_default()
    });
    let ring_entries = raw.ring_entries.map_or(DEFAULT_RING_ENTRIES, |n| {
        c.check("workers.ringEntries", ring_entries(n))
            .unwrap_or(DEFAULT_RING_ENTRIES)
    });
    Workers {
        cores,
        io_driver,
        ring_entries,
    }
}

fn io_driver(s: &str) -> Result<IoDriver, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(IoDriver::Auto),
        "uring" => Ok(IoDriver::Uring),
        "epoll" => Ok(IoDriver::Epoll),
        _ => Err(format!("{s:?}: expected \"auto\", \"uring\" or \"epoll\"")),
    }
}

/// The kernel rounds ring sizes up to a power of two; requiring one avoids
/// a silently different size.
fn ring_entries(n: u64) -> Result<u32, String> {
    match u32::try_from(n) {
        Ok(n) if n.is_power_of_two() && n <= MAX_RING_ENTRIES => Ok(n),
        _ => Err(format!(
            "must be a power of two from 1 to {MAX_RING_ENTRIES}, got {n}"
        )),
    }
}

/// Traefik's level names (case-insensitive). FATAL and PANIC have no `log`
/// equivalent; both keep only errors.
pub fn log_level(s: &str) -> Result<log::LevelFilter, String> {
    use log::LevelFilter::*;
    match s.to_ascii_uppercase().as_str() {
        "TRACE" => Ok(Trace),
        "DEBUG" => Ok(Debug),
        "INFO" => Ok(Info),
        "WARN" => Ok(Warn),
        "ERROR" | "FATAL" | "PANIC" => Ok(Error),
        _ => Err(format!(
            "{s:?}: expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or PANIC"
        )),
    }
}
