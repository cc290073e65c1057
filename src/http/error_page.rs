//! The `errors` middleware's response side, for either client protocol.
//! After the chain, what the error page request needs of the client's
//! request is kept in `Edits::saved` ([`save_request`]: the head's bytes may
//! be gone by the time the response comes: an inlined body is consumed with
//! them). When a proxied response's status, or the proxy's own error status
//! (502, 503, 504 …), is one the innermost watching `errors` middleware
//! catches ([`catcher`]), the response's body is read and dropped
//! ([`drain`]), and the page is fetched from the middleware's service from
//! this worker ([`fetch_page`], `http::subrequest`) and framed with the
//! original or rewritten status ([`write_page`]); each protocol sends it its
//! way. The service failing gets its failure's status text with that status,
//! as Traefik's proxy writes it through the code-modifying writer.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::config::ServiceKind;
use crate::http::answer::{self, Answer};
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{HeaderSpan, RequestHead, ResponseHead};
use crate::http::downstream::{Downstream, Source};
use crate::http::error::{ProxyError, error_body};
use crate::http::subrequest::{self, SubError, SubResponse};
use crate::middleware::errors::MAX_PAGE_BYTES;
use crate::middleware::forward_auth::ForwardAuth;
use crate::middleware::{Edits, Errors, Middleware};
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::{self, IoFail};
use crate::worker::view::{Runtime, View};

/// How long an error page may take when the service's transport sets no
/// read timeout.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Keeps the request's host, URL and fields for an error page request:
/// `host\r\nurl\r\n` then `Name: value\r\n` lines.
pub fn save_request(
    edits: &mut Edits,
    head: &RequestHead,
    buf: &[u8],
    headers: &[HeaderSpan],
    tls: bool,
) {
    let mut saved = std::mem::take(&mut edits.saved);
    saved.clear();
    let host = head.host.get(buf);
    saved.extend_from_slice(host);
    saved.extend_from_slice(b"\r\n");
    saved.extend_from_slice(if tls { b"https://" } else { b"http://" });
    saved.extend_from_slice(host);
    saved.extend_from_slice(edits.path(head.path.get(buf)));
    let query = head.query.get(buf);
    if !query.is_empty() {
        saved.push(b'?');
        saved.extend_from_slice(query);
    }
    saved.extend_from_slice(b"\r\n");
    for h in headers {
        let name = h.name.get(buf);
        if ForwardAuth::passes_back(name) && !name.eq_ignore_ascii_case(b"host") {
            for part in [name, b": ", h.value.get(buf), b"\r\n"] {
                saved.extend_from_slice(part);
            }
        }
    }
    edits.saved = saved;
}

/// The innermost `errors` middleware of the chain that catches `status`.
pub fn catcher(edits: &Edits, routed: Option<&Rc<View>>, status: u16) -> Option<(Rc<View>, usize)> {
    if edits.catchers().is_empty() || edits.saved.is_empty() {
        return None;
    }
    let view = routed?.clone();
    let id = edits.catchers().iter().rev().find(|&&id| {
        matches!(&view.snapshot.middlewares[id as usize].kind, Middleware::Errors(e) if e.catches(status))
    })?;
    Some((view, *id as usize))
}

/// Reads a caught response's body and drops it, so the upstream connection
/// can be reused.
pub async fn drain(
    resp: &ResponseHead,
    up: &mut UpstreamConn,
    from: Source,
) -> Result<(), ProxyError> {
    io::consume(&mut up.buf, resp.head_len);
    let relay = Relay {
        kind: resp.body,
        dechunk: false,
        read_timeout: from.read_timeout,
        write_timeout: None,
    };
    relay
        .run(&mut up.stream, &mut up.buf, &mut Discard)
        .await
        .map(drop)
        .map_err(|e| match e {
            RelayError::Read(IoFail::Io(e)) => ProxyError::UpstreamIo(e),
            RelayError::Read(IoFail::Timeout) => ProxyError::UpstreamReadTimeout(from.addr),
            RelayError::Invalid(e) => ProxyError::UpstreamBadBody(e),
            _ => ProxyError::UpstreamClosed,
        })
}

/// Fetches the page of `errors` middleware `id` for `status` and frames it
/// as an HTTP/1.1 response in `out` (the status text of the failure when the
/// service fails).
pub async fn write_page<D: Downstream>(
    d: &mut D,
    out: &mut Vec<u8>,
    (view, id): (&View, usize),
    status: u16,
    (close, is_head): (bool, bool),
) {
    let Middleware::Errors(e) = &view.snapshot.middlewares[id].kind else {
        return;
    };
    let code = e.rewrite(status);
    let page = fetch_page(d, view, e, code, status).await;
    out.clear();
    match &page {
        Ok(p) => {
            let fields: Vec<(&str, &[u8])> = p
                .fields()
                .filter(|(n, _)| ForwardAuth::passes_back(n))
                .map(|(n, v)| (std::str::from_utf8(n).unwrap_or("X-Invalid"), v))
                .collect();
            let a = Answer {
                status: code,
                content_type: None,
                headers: &fields,
                body: &p.body,
                no_store: false,
            };
            answer::write_h1(out, &a, d.edits(), close, is_head);
        }
        Err(err) => {
            let failed = match err {
                SubError::Timeout => 504,
                _ => 502,
            };
            log::warn!(
                "errors {}: error page for status {status} failed: {err}",
                view.snapshot.middlewares[id].name
            );
            let a = Answer::text(code, error_body(failed));
            answer::write_h1(out, &a, d.edits(), close, is_head);
        }
    }
}

/// GET of the page from the service's next server, with the request's
/// Host (unless `passHostHeader = false`) and fields. A service of
/// services is walked down as for a request (weighted turns, failover,
/// mirroring's main service; no copies) to the load balancer that answers.
async fn fetch_page<D: Downstream>(
    d: &mut D,
    view: &View,
    e: &Errors,
    code: u16,
    original: u16,
) -> Result<SubResponse, SubError> {
    let id = (crate::http::proxy::resolve(d, view, e.service))
        .ok_or(SubError::Closed)?
        .leaf;
    let service = &view.services[id];
    let (Runtime::LoadBalancer(balancer), ServiceKind::LoadBalancer(lb)) =
        (&service.runtime, &service.def.kind)
    else {
        return Err(SubError::Closed);
    };
    let up = |i: usize| lb.server_up(i) && lb.servers[i].addr.get().is_some();
    let picked = balancer
        .pick(lb, d.client_ip(), up)
        .ok_or(SubError::Closed)?;
    let server = &lb.servers[picked.index];
    let Some(addr) = server.addr.get() else {
        return Err(SubError::Unreachable(format!(
            "{}: does not resolve",
            server.url
        )));
    };
    let saved = &d.edits().saved;
    let mut parts = saved.splitn(3, |&b| b == b'\n');
    let host = parts.next().unwrap_or(b"").trim_ascii_end();
    let url = parts.next().unwrap_or(b"").trim_ascii_end();
    let fields = parts.next().unwrap_or(b"");
    let target = e.target(code, original, url);
    let host = match lb.pass_host_header {
        true => host,
        false => server.authority.as_bytes(),
    };
    let mut req = Vec::with_capacity(256 + fields.len());
    for part in [
        b"GET ",
        server.path_prefix.as_bytes(),
        target.as_bytes(),
        b" HTTP/1.1\r\nHost: ",
        host,
        b"\r\n",
    ] {
        req.extend_from_slice(part);
    }
    for line in fields.split_inclusive(|&b| b == b'\n') {
        let name = line.split(|&b| b == b':').next().unwrap_or(b"");
        if e.sends(name) {
            req.extend_from_slice(line);
        }
    }
    req.extend_from_slice(b"\r\n");
    let timeout = lb.transport.read_timeout.unwrap_or(PAGE_TIMEOUT);
    let page = subrequest::call(
        d.pool(),
        (addr, server.tls.as_deref()),
        &mut req,
        false,
        Some(MAX_PAGE_BYTES),
        timeout,
    );
    page.await
}

/// Where a caught response's body goes: nowhere.
struct Discard;

impl Sink for Discard {
    async fn write(
        &mut self,
        _buf: &mut Vec<u8>,
        _len: usize,
        _deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        Ok(())
    }

    fn watch(&self) -> impl Future<Output = ()> {
        std::future::pending()
    }
}
