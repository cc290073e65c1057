//! The observability `@internal` services as a worker runs them: each answers
//! with a [`Reply`] (status, content type, headers, body) that the request's
//! protocol frames. These run on admin requests only, so they may allocate and
//! briefly lock the metrics slots.

use std::sync::atomic::Ordering;

use crate::config::Snapshot;
use crate::runtime::shutdown::phase;

use super::{api, dashboard, prometheus};
use crate::config::observe::Internal;

/// The parts of the request an internal service looks at.
pub struct Request<'a> {
    pub path: &'a str,
    pub query: &'a str,
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

/// The answer of the internal service `kind`.
pub fn respond(kind: Internal, hub: &super::Hub, snapshot: &Snapshot, req: &Request) -> Reply {
    match kind {
        Internal::Ping => ping(hub),
        Internal::Prometheus => Reply::new(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            prometheus::render(hub, snapshot),
        ),
        Internal::Api => api::handle(hub, snapshot, req),
        Internal::Dashboard => dashboard::handle(req),
    }
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
