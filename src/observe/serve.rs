//! The observability `@internal` services as the worker runs them: build a complete
//! response into the connection's output buffer, like `whoami@internal`. These run on
//! admin requests only, so they may allocate and briefly lock the metrics slots.

use std::io::Write;
use std::sync::atomic::Ordering;

use crate::http::codec::RequestHead;
use crate::worker::WorkerCtx;
use crate::worker::shutdown::phase;
use crate::worker::view::View;

use super::config::Internal;
use super::{api, dashboard, prometheus};

/// The parts of the request an internal service looks at.
pub struct Request<'a> {
    pub path: &'a str,
    pub query: &'a str,
    pub is_head: bool,
}

impl<'a> Request<'a> {
    pub fn new(buf: &'a [u8], head: &RequestHead) -> Request<'a> {
        Request {
            path: std::str::from_utf8(head.path.get(buf)).unwrap_or(""),
            query: std::str::from_utf8(head.query.get(buf)).unwrap_or(""),
            is_head: head.is_head,
        }
    }
}

/// A response before framing.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::new(status, "text/plain; charset=utf-8", body)
    }

    pub fn redirect(to: &str) -> Reply {
        let mut r = Reply::text(302, "");
        r.headers.push(("location", to.to_string()));
        r
    }
}

/// Writes the whole response for `kind` into `out`.
pub fn respond(
    kind: Internal,
    w: &WorkerCtx,
    view: &View,
    req: &Request,
    close: bool,
    out: &mut Vec<u8>,
) {
    let hub = &w.obs.hub;
    let reply = match kind {
        Internal::Ping => ping(hub),
        Internal::Prometheus => Reply::new(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            prometheus::render(hub, &view.snapshot),
        ),
        Internal::Api => api::handle(hub, &view.snapshot, req),
        Internal::Dashboard => dashboard::handle(req),
    };
    frame(out, &reply, close, req.is_head);
}

/// 200 `OK`, or the terminating status from the moment a graceful stop begins, so a
/// load balancer in front stops sending new clients while in-flight ones finish.
fn ping(hub: &super::Hub) -> Reply {
    if hub.phase.load(Ordering::Acquire) >= phase::DRAINING {
        let code = hub
            .cfg
            .observe
            .ping
            .as_ref()
            .map_or(503, |p| p.terminating_status_code);
        return Reply::text(code, "Service Unavailable");
    }
    Reply::text(200, "OK")
}

fn frame(out: &mut Vec<u8>, r: &Reply, close: bool, is_head: bool) {
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\ncache-control: no-store\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    for (k, v) in &r.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !is_head {
        out.extend_from_slice(&r.body);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
