//! What one request did, collected on its connection while it runs and turned into
//! counters and an access-log line when it ends ([`finish`]).
//!
//! Cost per request: an `Instant::now()` at the start and one at the end, a few field
//! stores, the indexed adds and hdrhistogram record in `metrics.rs`; with an access
//! log, a copy of the head (a few hundred bytes into a reused buffer, because the
//! request buffer moves on before the line is written), one `SystemTime::now()` and
//! the line formatted into the worker's buffer. Nothing allocates once the
//! connection's buffers and the label series have warmed up.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use crate::config::{ServiceKind, Snapshot};

use super::WorkerObs;
use super::access_format::{self, Entry, HeadCopy};
use super::metrics::{Method, Proto, Sample};
use crate::config::observe::LogFormat;

pub struct Record {
    /// When the head was complete.
    pub start: Instant,
    /// The router matched, an index into the snapshot the request was routed
    /// with (which the connection holds until [`finish`]).
    pub router: Option<u32>,
    /// The service that answered (below the router's through `weighted` or
    /// `failover`): its id in the snapshot.
    pub service: Option<usize>,
    /// Index of the load-balanced server picked (in `service`).
    pub server: Option<usize>,
    /// Status the client got (0: none yet).
    pub status: u16,
    pub origin_status: u16,
    pub req_bytes: u64,
    /// Response body bytes sent to the client.
    pub resp_bytes: u64,
    pub retries: u8,
    method: Method,
    proto: Proto,
    /// A copy of the head for the access log, filled by the protocol when
    /// [`WorkerObs::logging`].
    pub head: HeadCopy,
}

impl Record {
    /// The URL of the load-balanced server picked for this request, if one was;
    /// `snapshot` is the one it was routed with.
    pub fn server_url<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s str> {
        let router = snapshot.routers.get(self.router? as usize)?;
        let service = self.service.unwrap_or(router.service);
        match &snapshot.services.get(service)?.kind {
            ServiceKind::LoadBalancer(lb) => lb.servers.get(self.server?).map(|s| s.url.as_str()),
            _ => None,
        }
    }
}

impl Default for Record {
    fn default() -> Self {
        Record {
            start: Instant::now(),
            router: None,
            service: None,
            server: None,
            status: 0,
            origin_status: 0,
            req_bytes: 0,
            resp_bytes: 0,
            retries: 0,
            method: Method::Get,
            proto: Proto::Http,
            head: HeadCopy::default(),
        }
    }
}

impl Record {
    /// A new request whose head is complete: its method, its body's declared
    /// length (0 when unknown) and whether it asks to switch protocols. The
    /// protocol fills [`Record::head`] next when the access log wants it.
    #[inline]
    pub fn begin(&mut self, method: &[u8], body_len: u64, upgrade: bool) {
        self.start = Instant::now();
        self.router = None;
        self.service = None;
        self.server = None;
        self.status = 0;
        self.origin_status = 0;
        self.req_bytes = body_len;
        self.resp_bytes = 0;
        self.retries = 0;
        self.method = Method::classify(method);
        self.proto = if upgrade {
            Proto::Websocket
        } else {
            Proto::Http
        };
    }

    /// The request matched router `id`.
    #[inline]
    pub fn route(&mut self, id: u32) {
        self.router = Some(id);
    }

    /// A complete response made here (local service or error) is about to be sent.
    #[inline]
    pub fn local_response(&mut self, response: &[u8]) {
        if let Some(code) = response
            .get(9..12)
            .and_then(|c| std::str::from_utf8(c).ok())
        {
            self.status = code.parse().unwrap_or(self.status);
        }
        let body_at = memchr::memmem::find(response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
        self.resp_bytes = (response.len() - body_at) as u64;
    }
}

/// Where a request was served: what the access log and the metrics say of its
/// connection, and the snapshot it was routed with (`None`: it matched no router).
pub struct Served<'a> {
    pub client: SocketAddr,
    pub entry_point: usize,
    pub entry_point_name: &'a str,
    pub port: u16,
    pub snapshot: Option<&'a Snapshot>,
}

/// Accounts for the request that just ended: counters, then the log line.
pub fn finish(rec: &mut Record, obs: &WorkerObs, at: &Served) {
    if rec.status == 0 {
        return;
    }
    let elapsed = rec.start.elapsed();
    let snap = at.snapshot;
    let router = rec.router.and_then(|id| Some((id, snap?)));
    // The service that answered: metrics and the log name it, as Traefik's
    // load balancer does below a weighted or failover service.
    let service = router.map(|(id, s)| rec.service.unwrap_or(s.routers[id as usize].service));
    if obs.counting() {
        let mut m = obs.metrics.borrow_mut();
        if let Some(s) = snap {
            m.map(s);
        }
        m.record(&Sample {
            entry_point: at.entry_point,
            router: rec.router.map(|r| r as usize).filter(|_| snap.is_some()),
            service,
            code: rec.status,
            method: rec.method,
            proto: rec.proto,
            micros: elapsed.as_micros() as u64,
            req_bytes: rec.req_bytes,
            resp_bytes: rec.resp_bytes,
        });
    }
    let count = obs.requests.get() + 1;
    obs.requests.set(count);
    let Some(cfg) = obs.hub.cfg.observe.access_log.as_ref() else {
        return;
    };
    if !cfg.keep(rec.status, rec.retries, elapsed) {
        return;
    }
    let mut log = obs.log.borrow_mut();
    let Some(log) = log.as_mut() else { return };
    let router_name = router.map_or("", |(id, s)| s.routers[id as usize].name.as_str());
    let svc = service.and_then(|i| snap.map(|s| &s.services[i]));
    let server = match (svc.map(|s| &s.kind), rec.server) {
        (Some(ServiceKind::LoadBalancer(lb)), Some(i)) => lb.servers.get(i),
        _ => None,
    };
    let h = &rec.head;
    let entry = Entry {
        client: at.client,
        method: h.method(),
        target: h.target(),
        protocol: h.protocol(),
        host: h.host(),
        port: at.port,
        entry_point: at.entry_point_name,
        router: router_name,
        service: svc.map_or("", |s| s.name.as_str()),
        service_url: server.map_or("", |s| s.url.as_str()),
        service_addr: server.and_then(|s| s.addr.get()),
        status: rec.status,
        origin_status: rec.origin_status,
        resp_bytes: rec.resp_bytes,
        req_bytes: rec.req_bytes,
        retries: rec.retries,
        duration: elapsed,
        start: SystemTime::now() - elapsed,
        count,
        head: h,
    };
    match cfg.format {
        LogFormat::Common => access_format::common(&mut log.buf, &entry),
        LogFormat::Json => access_format::json(&mut log.buf, &entry, cfg),
    }
    log.line_done();
}
