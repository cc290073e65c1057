//! Per-worker request metrics. A worker owns its counters outright (`RefCell` on the
//! worker thread, never shared), kept in dense vectors: entry points by index, routers
//! and services by a stable per-name slot that survives reloads. The snapshot's
//! router/service ids are mapped to those slots once per generation, so recording a
//! request is a few indexed adds, a short linear scan over its label series and one
//! hdrhistogram record: no hashing, no strings, no allocation once warm.
//!
//! About once a second `worker::supervise` copies the counters into the worker's
//! [`Slot`] (a `std::sync::Mutex`, off the request path); a scrape or an API call
//! merges every worker's slot by name.

use std::collections::HashMap;
use std::sync::Arc;

use hdrhistogram::Histogram;

use crate::config::Snapshot;

/// Latencies are recorded in microseconds, up to an hour, with 2 significant digits
/// (1% error, ~25 KiB per histogram).
const HIST_MAX_US: u64 = 3_600_000_000;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 2).expect("static histogram bounds")
}

/// Method label, as a small enum so a series key is a few bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    Connect,
    Trace,
    Other,
}

impl Method {
    pub fn classify(m: &[u8]) -> Method {
        match m {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"PATCH" => Method::Patch,
            b"OPTIONS" => Method::Options,
            b"CONNECT" => Method::Connect,
            b"TRACE" => Method::Trace,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
            Method::Other => "EXTENSION_METHOD",
        }
    }
}

/// Protocol label, Traefik's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Http,
    Websocket,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Http => "http",
            Proto::Websocket => "websocket",
        }
    }
}

/// One label combination of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    pub code: u16,
    pub method: Method,
    pub proto: Proto,
    pub count: u64,
    pub req_bytes: u64,
    pub resp_bytes: u64,
}

/// Counters of one entry point, router or service.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: String,
    /// For routers: the service it sends to (a label); empty otherwise.
    pub service: String,
    pub series: Vec<Series>,
    pub hist: Histogram<u64>,
    pub sum_us: u64,
}

impl Family {
    pub fn new(name: &str, service: &str) -> Family {
        Family {
            name: name.to_string(),
            service: service.to_string(),
            series: Vec::new(),
            hist: new_histogram(),
            sum_us: 0,
        }
    }

    #[inline]
    fn record(&mut self, s: &Sample) {
        let found = self
            .series
            .iter_mut()
            .find(|x| x.code == s.code && x.method == s.method && x.proto == s.proto);
        let series = match found {
            Some(x) => x,
            None => {
                // First time this label combination is seen: the only allocation.
                self.series.push(Series {
                    code: s.code,
                    method: s.method,
                    proto: s.proto,
                    count: 0,
                    req_bytes: 0,
                    resp_bytes: 0,
                });
                self.series.last_mut().expect("just pushed")
            }
        };
        series.count += 1;
        series.req_bytes += s.req_bytes;
        series.resp_bytes += s.resp_bytes;
        self.hist.saturating_record(s.micros.max(1));
        self.sum_us += s.micros;
    }

    /// Adds another worker's counters for the same name.
    pub fn merge(&mut self, other: &Family) {
        for o in &other.series {
            match self
                .series
                .iter_mut()
                .find(|x| x.code == o.code && x.method == o.method && x.proto == o.proto)
            {
                Some(x) => {
                    x.count += o.count;
                    x.req_bytes += o.req_bytes;
                    x.resp_bytes += o.resp_bytes;
                }
                None => self.series.push(*o),
            }
        }
        let _ = self.hist.add(&other.hist);
        self.sum_us += other.sum_us;
        if self.service.is_empty() {
            self.service.clone_from(&other.service);
        }
    }

    pub fn count(&self) -> u64 {
        self.series.iter().map(|s| s.count).sum()
    }
}

/// What one finished request contributes.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub entry_point: usize,
    pub router: Option<usize>,
    pub service: Option<usize>,
    pub code: u16,
    pub method: Method,
    pub proto: Proto,
    pub micros: u64,
    pub req_bytes: u64,
    pub resp_bytes: u64,
}

/// A worker's counters. `Clone` is what the per-second publish copies.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub entry_points: Vec<Family>,
    pub routers: Vec<Family>,
    pub services: Vec<Family>,
    /// Open client connections per entry point, now.
    pub open: Vec<u64>,
    /// Of all open connections, those waiting in the parking lot, now.
    pub parked: u64,
    /// Per entry point: failed accepts (out of descriptors, mostly), and
    /// connections refused at `maxConnections`. Counted on every worker, metrics
    /// on or off: both happen on error paths only.
    pub accept_errors: Vec<u64>,
    pub refused: Vec<u64>,
    /// Completed TLS handshakes: `[full, resumed]` (a ticket). Counted metrics
    /// on or off: one add next to a handshake's cost.
    pub tls_handshakes: [u64; 2],
    /// Access-log lines written, and lines lost to write errors.
    pub log_lines: u64,
    pub log_dropped: u64,
    /// Snapshot generation the maps below were built for.
    mapped: Option<u64>,
    router_map: Vec<usize>,
    service_map: Vec<usize>,
    router_slots: HashMap<String, usize>,
    service_slots: HashMap<String, usize>,
}

impl Metrics {
    pub fn new(entry_points: &[String]) -> Metrics {
        Metrics {
            entry_points: entry_points.iter().map(|n| Family::new(n, "")).collect(),
            open: vec![0; entry_points.len()],
            accept_errors: vec![0; entry_points.len()],
            refused: vec![0; entry_points.len()],
            ..Metrics::default()
        }
    }

    /// Maps the snapshot's router/service ids to stable slots. Runs once per reload
    /// per worker (allocates then), and again if an old request finishes after it.
    pub fn map(&mut self, snap: &Snapshot) {
        if self.mapped == Some(snap.generation) {
            return;
        }
        self.service_map = snap
            .services
            .iter()
            .map(|s| slot(&mut self.service_slots, &mut self.services, &s.name, ""))
            .collect();
        self.router_map = snap
            .routers
            .iter()
            .map(|r| {
                let service = &snap.services[r.service].name;
                slot(&mut self.router_slots, &mut self.routers, &r.name, service)
            })
            .collect();
        self.mapped = Some(snap.generation);
    }

    /// Records one request. `map` must have run for the snapshot the ids come from.
    #[inline]
    pub fn record(&mut self, s: &Sample) {
        if let Some(f) = self.entry_points.get_mut(s.entry_point) {
            f.record(s);
        }
        if let Some(&i) = s.router.and_then(|r| self.router_map.get(r)) {
            self.routers[i].record(s);
        }
        if let Some(&i) = s.service.and_then(|r| self.service_map.get(r)) {
            self.services[i].record(s);
        }
    }

    /// Copies everything the merge needs into `into` (the published slot).
    pub fn publish(&self, into: &mut Metrics) {
        into.entry_points.clone_from(&self.entry_points);
        into.routers.clone_from(&self.routers);
        into.services.clone_from(&self.services);
        into.open.clone_from(&self.open);
        into.accept_errors.clone_from(&self.accept_errors);
        into.refused.clone_from(&self.refused);
        into.parked = self.parked;
        into.tls_handshakes = self.tls_handshakes;
        into.log_lines = self.log_lines;
        into.log_dropped = self.log_dropped;
    }

    /// Sums several workers' published counters, by name.
    pub fn merge_all<'a>(workers: impl Iterator<Item = &'a Metrics>) -> Metrics {
        let mut out = Metrics::default();
        for w in workers {
            merge_families(&mut out.entry_points, &w.entry_points);
            merge_families(&mut out.routers, &w.routers);
            merge_families(&mut out.services, &w.services);
            add_per_entry_point(&mut out.open, &w.open);
            add_per_entry_point(&mut out.accept_errors, &w.accept_errors);
            add_per_entry_point(&mut out.refused, &w.refused);
            out.parked += w.parked;
            out.tls_handshakes[0] += w.tls_handshakes[0];
            out.tls_handshakes[1] += w.tls_handshakes[1];
            out.log_lines += w.log_lines;
            out.log_dropped += w.log_dropped;
        }
        out
    }
}

fn add_per_entry_point(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (o, n) in into.iter_mut().zip(from) {
        *o += n;
    }
}

fn slot(
    slots: &mut HashMap<String, usize>,
    fams: &mut Vec<Family>,
    name: &str,
    svc: &str,
) -> usize {
    if let Some(&i) = slots.get(name) {
        fams[i].service = svc.to_string();
        return i;
    }
    fams.push(Family::new(name, svc));
    slots.insert(name.to_string(), fams.len() - 1);
    fams.len() - 1
}

fn merge_families(into: &mut Vec<Family>, from: &[Family]) {
    for f in from {
        match into.iter_mut().find(|x| x.name == f.name) {
            Some(x) => x.merge(f),
            None => into.push(f.clone()),
        }
    }
}

/// A worker's published counters: written by its `supervise` tick, read by scrapes.
pub type Slot = Arc<std::sync::Mutex<Metrics>>;
