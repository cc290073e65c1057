//! What one request did, collected on its connection while it runs and turned into
//! counters and an access-log line when it ends ([`finish`]).
//!
//! Cost per request: an `Instant::now()` at the start and one at the end, a few field
//! stores, the indexed adds and hdrhistogram record in `metrics.rs`; with an access
//! log, a copy of the head (a few hundred bytes into a reused buffer, because the
//! request buffer moves on before the line is written), one `SystemTime::now()` and
//! the line formatted into the worker's buffer. Nothing allocates once the
//! connection's buffers and the label series have warmed up.

use std::rc::Rc;
use std::time::{Instant, SystemTime};

use crate::config::ServiceKind;
use crate::http::codec::{BodyKind, HeaderSpan, RequestHead, Version};
use crate::http::server::Conn;
use crate::worker::view::View;

use super::WorkerObs;
use super::access_format::{self, Entry};
use super::config::LogFormat;
use super::metrics::{Method, Proto, Sample};

pub struct Record {
    /// When the head was complete.
    pub start: Instant,
    /// The view the request was routed with (router/service ids are into it).
    pub view: Option<Rc<View>>,
    pub router: Option<u32>,
    /// Index of the load-balanced server picked.
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
    /// A copy of the head for the access log (spans in `headers` point into it).
    head: Vec<u8>,
    headers: Vec<HeaderSpan>,
}

impl Record {
    /// The URL of the load-balanced server picked for this request, if one was.
    pub fn server_url(&self) -> Option<&str> {
        let view = self.view.as_ref()?;
        let router = view.snapshot.routers.get(self.router? as usize)?;
        match &view.snapshot.services.get(router.service)?.kind {
            ServiceKind::LoadBalancer(lb) => lb.servers.get(self.server?).map(|s| s.url.as_str()),
            _ => None,
        }
    }
}

impl Default for Record {
    fn default() -> Self {
        Record {
            start: Instant::now(),
            view: None,
            router: None,
            server: None,
            status: 0,
            origin_status: 0,
            req_bytes: 0,
            resp_bytes: 0,
            retries: 0,
            method: Method::Get,
            proto: Proto::Http,
            head: Vec::new(),
            headers: Vec::new(),
        }
    }
}

impl Record {
    /// A new request: its head is complete and still at the start of `buf`.
    #[inline]
    pub fn begin(
        &mut self,
        head: &RequestHead,
        buf: &[u8],
        headers: &[HeaderSpan],
        obs: &WorkerObs,
    ) {
        self.start = Instant::now();
        self.view = None;
        self.router = None;
        self.server = None;
        self.status = 0;
        self.origin_status = 0;
        self.req_bytes = match head.body {
            BodyKind::Length(n) => n,
            _ => 0,
        };
        self.resp_bytes = 0;
        self.retries = 0;
        self.method = Method::classify(head.method.get(buf));
        self.proto = if head.upgrade {
            Proto::Websocket
        } else {
            Proto::Http
        };
        if obs.logging() {
            self.head.clear();
            self.head.extend_from_slice(&buf[..head.head_len]);
            self.headers.clear();
            self.headers.extend_from_slice(headers);
        }
    }

    /// The request matched router `id` of `view`.
    #[inline]
    pub fn route(&mut self, view: &Rc<View>, id: u32) {
        self.view = Some(view.clone());
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

/// Accounts for the request that just ended on `c`: counters, then the log line.
pub fn finish<S>(c: &mut Conn<S>, head: &RequestHead) {
    let rec = &mut c.rec;
    if rec.status == 0 {
        return;
    }
    let elapsed = rec.start.elapsed();
    let obs = &c.w.obs;
    let view = rec.view.take();
    let router = rec.router.and_then(|id| Some((id, view.as_ref()?)));
    let service = router.map(|(id, v)| v.snapshot.routers[id as usize].service);
    if obs.counting() {
        let mut m = obs.metrics.borrow_mut();
        if let Some(v) = &view {
            m.map(&v.snapshot);
        }
        m.record(&Sample {
            entry_point: c.ep.index,
            router: rec.router.map(|r| r as usize).filter(|_| view.is_some()),
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
    let snap = view.as_ref().map(|v| &v.snapshot);
    let router_name = router.map_or("", |(id, v)| v.snapshot.routers[id as usize].name.as_str());
    let svc = service.and_then(|s| snap.map(|sn| &sn.services[s]));
    let server = match (svc.map(|s| &s.kind), rec.server) {
        (Some(ServiceKind::LoadBalancer(lb)), Some(i)) => lb.servers.get(i),
        _ => None,
    };
    let h = &rec.head;
    let entry = Entry {
        client: c.peer,
        method: head.method.get(h),
        target: head.target.get(h),
        protocol: match head.version {
            Version::Http10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        },
        host: head.host.get(h),
        port: c.ep.local.port(),
        entry_point: &c.ep.cfg.name,
        router: router_name,
        service: svc.map_or("", |s| s.name.as_str()),
        service_url: server.map_or("", |s| s.url.as_str()),
        service_addr: server.map(|s| s.addr),
        status: rec.status,
        origin_status: rec.origin_status,
        resp_bytes: rec.resp_bytes,
        req_bytes: rec.req_bytes,
        retries: rec.retries,
        duration: elapsed,
        start: SystemTime::now() - elapsed,
        count,
        head: h,
        headers: &rec.headers,
    };
    match cfg.format {
        LogFormat::Common => access_format::common(&mut log.buf, &entry),
        LogFormat::Json => access_format::json(&mut log.buf, &entry, cfg),
    }
    log.line_done();
}
