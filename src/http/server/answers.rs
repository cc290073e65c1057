//! The services a worker answers itself (whoami, `respond`, the entry point's
//! HTTPS redirect, the `@internal` admin services) and a middleware's answer:
//! each builds a protocol-neutral `Answer`, framed here for HTTP/1.1 with the
//! router's response edits. Every runtime is named: a new service kind must
//! say how it is served.

use super::{ClientIo, Conn, Outcome};
use crate::config::ServiceKind;
use crate::http::answer::{self, Answer};
use crate::http::codec::RequestHead;
use crate::http::error::ProxyError;
use crate::http::whoami::{Seen, Whoami};
use crate::worker::view::{Runtime, ServiceState, View};

impl<S: ClientIo> Conn<S> {
    pub(super) async fn answer_locally(
        &mut self,
        head: &RequestHead,
        view: &View,
        service: &ServiceState,
    ) -> Outcome {
        let close = self.local_must_close(head);
        let buf = &self.buf;
        let mut scratch = std::mem::take(&mut self.scratch);
        let answered = match (&service.runtime, &service.def.kind) {
            (Runtime::Whoami, _) => {
                let whoami = Whoami {
                    hostname: &self.w.hostname,
                    local: self.ep.local,
                    peer: self.peer,
                    edits: &self.edits,
                };
                let seen = Seen {
                    method: head.method.get(buf),
                    target: head.target.get(buf),
                    query: head.query.get(buf),
                    protocol: head.version.as_str(),
                };
                let headers = self
                    .headers
                    .iter()
                    .map(|h| (h.name.get(buf), h.value.get(buf)));
                whoami.body(&mut scratch, &seen, headers);
                self.frame(&Answer::text(200, &scratch), close, head)
            }
            (Runtime::Respond, ServiceKind::Respond(r)) => {
                let a = Answer {
                    status: r.status,
                    content_type: Some(&r.content_type),
                    headers: &[],
                    body: &r.body,
                    no_store: false,
                };
                self.frame(&a, close, head)
            }
            (Runtime::Redirect, ServiceKind::Redirect(r)) => {
                let host = head.host.get(buf);
                let (path, query) = (head.path.get(buf), head.query.get(buf));
                let status = crate::http::redirect::location(
                    r,
                    head.method.get(buf),
                    host,
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
                // The client is sent elsewhere: this connection has served its purpose.
                self.frame(&a, true, head)
            }
            (Runtime::Observe(kind), _) => {
                let req = crate::observe::serve::Request {
                    path: std::str::from_utf8(head.path.get(buf)).unwrap_or(""),
                    query: std::str::from_utf8(head.query.get(buf)).unwrap_or(""),
                };
                let reply =
                    crate::observe::serve::respond(*kind, &self.w.obs.hub, &view.snapshot, &req);
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
                self.frame(&a, close, head)
            }
            (
                Runtime::LoadBalancer(_)
                | Runtime::Respond
                | Runtime::Redirect
                | Runtime::Weighted(_)
                | Runtime::Failover
                | Runtime::Mirroring(_),
                _,
            ) => None,
        };
        self.scratch = scratch;
        let Some(close) = answered else {
            let err = ProxyError::Internal("service runtime does not match its definition");
            return self.fail(Some(head), err).await;
        };
        self.send_local(head, close).await
    }

    /// Sends what a middleware answered (its status, body and response headers).
    pub(super) async fn answer_from_chain(&mut self, head: &RequestHead) -> Outcome {
        let close = self.local_must_close(head);
        let Some((status, body)) = self.edits.answered() else {
            return Outcome::Close;
        };
        self.out.clear();
        answer::write_h1(
            &mut self.out,
            &Answer::text(status, body),
            &self.edits,
            close,
            head.is_head,
        );
        self.send_local(head, close).await
    }

    /// Frames `a` into the output buffer; returns `Some(close)`, what the
    /// connection does after it is sent.
    fn frame(&mut self, a: &Answer, close: bool, head: &RequestHead) -> Option<bool> {
        self.out.clear();
        answer::write_h1(&mut self.out, a, &self.edits, close, head.is_head);
        Some(close)
    }
}
