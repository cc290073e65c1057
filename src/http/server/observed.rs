//! The connection's side of observability: what an HTTP/1.1 request puts in its
//! protocol-neutral record when it starts (method, declared body length, and the
//! head copy the access log reads), and handing the record over when it ends.

use super::{ClientIo, Conn};
use crate::http::codec::{BodyKind, RequestHead};
use crate::observe::Served;

impl<S: ClientIo> Conn<S> {
    /// A new request whose head is at the start of the buffer.
    pub(super) fn begin_record(&mut self, head: &RequestHead) {
        let buf = &self.buf;
        let body_len = match head.body {
            BodyKind::Length(n) => n,
            _ => 0,
        };
        self.routed = None;
        self.rec.begin(head.method.get(buf), body_len, head.upgrade);
        if self.w.obs.logging() {
            let protocol = head.version.as_str();
            let copy = &mut self.rec.head;
            copy.start(
                head.method.get(buf),
                head.target.get(buf),
                head.host.get(buf),
                protocol,
            );
            for h in &self.headers {
                copy.push_field(h.name.get(buf), h.value.get(buf));
            }
        }
    }

    /// The request ended: counters and the access-log line.
    pub(super) fn finish_record(&mut self) {
        let routed = self.routed.take();
        let at = Served {
            client: self.peer,
            entry_point: self.ep.index,
            entry_point_name: &self.ep.cfg.name,
            port: self.ep.local.port(),
            snapshot: routed.as_ref().map(|v| &*v.snapshot),
        };
        crate::observe::finish(&mut self.rec, &self.w.obs, &at);
        self.edits.breakers_done(self.rec.status);
        // Nothing this request's middlewares changed may reach the next
        // request's answers, even an error made before it is routed.
        self.edits.clear();
    }
}
