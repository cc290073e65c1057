//! The services a worker answers itself, for an HTTP/2 stream: the same
//! protocol-neutral `Answer`s as HTTP/1.1 (`http/server/answers.rs`), framed
//! with the router's response edits and sent as an HTTP/2 response.

use super::stream::Stream;
use crate::config::ServiceKind;
use crate::http::answer::{self, Answer};
use crate::http::codec::RequestHead;
use crate::http::error::ProxyError;
use crate::http::whoami::{Seen, Whoami};
use crate::middleware::Edits;
use crate::worker::view::{Runtime, ServiceState, View};

impl Stream {
    pub(super) async fn answer_locally(
        &mut self,
        head: &RequestHead,
        view: &View,
        service: &ServiceState,
    ) {
        let buf = &self.buf;
        let mut scratch = std::mem::take(&mut self.scratch);
        self.out.clear();
        let framed = match (&service.runtime, &service.def.kind) {
            (Runtime::Whoami, _) => {
                let whoami = Whoami {
                    hostname: &self.c.w.hostname,
                    local: self.c.ep.local,
                    peer: self.c.peer,
                    edits: &self.edits,
                };
                let seen = Seen {
                    method: head.method.get(buf),
                    target: head.target.get(buf),
                    query: head.query.get(buf),
                    protocol: super::stream::PROTOCOL,
                };
                let headers = self
                    .headers
                    .iter()
                    .map(|h| (h.name.get(buf), h.value.get(buf)));
                whoami.body(&mut scratch, &seen, headers);
                frame(
                    &mut self.out,
                    &Answer::text(200, &scratch),
                    &self.edits,
                    head,
                )
            }
            (Runtime::Respond, ServiceKind::Respond(r)) => {
                let a = Answer {
                    status: r.status,
                    content_type: Some(&r.content_type),
                    headers: &[],
                    body: &r.body,
                    no_store: false,
                };
                frame(&mut self.out, &a, &self.edits, head)
            }
            (Runtime::Redirect, ServiceKind::Redirect(r)) => {
                let (path, query) = (head.path.get(buf), head.query.get(buf));
                let status = crate::http::redirect::location(
                    r,
                    head.method.get(buf),
                    head.host.get(buf),
                    path,
                    query,
                    &mut scratch,
                );
                let a = Answer {
                    status,
                    content_type: None,
                    headers: &[("location", &scratch)],
                    body: b"",
                    no_store: false,
                };
                frame(&mut self.out, &a, &self.edits, head)
            }
            (Runtime::Observe(kind), _) => {
                let req = crate::observe::serve::Request {
                    path: std::str::from_utf8(head.path.get(buf)).unwrap_or(""),
                    query: std::str::from_utf8(head.query.get(buf)).unwrap_or(""),
                };
                let reply =
                    crate::observe::serve::respond(*kind, &self.c.w.obs.hub, &view.snapshot, &req);
                let headers: Vec<(&str, &[u8])> = reply
                    .headers
                    .iter()
                    .map(|(k, v)| (*k, v.as_bytes()))
                    .collect();
                let a = Answer {
                    status: reply.status,
                    content_type: Some(reply.content_type),
                    headers: &headers,
                    body: &reply.body,
                    no_store: true,
                };
                frame(&mut self.out, &a, &self.edits, head)
            }
            (
                Runtime::LoadBalancer(_)
                | Runtime::Respond
                | Runtime::Redirect
                | Runtime::Weighted(_)
                | Runtime::Failover
                | Runtime::Mirroring(_),
                _,
            ) => false,
        };
        self.scratch = scratch;
        if !framed {
            let err = ProxyError::Internal("service runtime does not match its definition");
            return self.fail(Some(head), err).await;
        }
        self.send_out(head.is_head).await
    }
}

/// Frames `a` (HTTP/1.1 form, converted when sent) with the response edits.
fn frame(out: &mut Vec<u8>, a: &Answer, edits: &Edits, head: &RequestHead) -> bool {
    answer::write_h1(out, a, edits, false, head.is_head);
    true
}
