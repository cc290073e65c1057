//! A stream's access-log record: begun from the request head (method,
//! request body length, a copy of the head when access logs are on, with
//! protocol `HTTP/2.0`), finished with the outcome, which also counts it for
//! the router's circuit breakers.

use super::stream::{PROTOCOL, Stream};
use crate::http::codec::{BodyKind, RequestHead};
use crate::observe::Served;

impl Stream {
    pub(super) fn begin_record(&mut self, head: &RequestHead) {
        let buf = &self.buf;
        let body_len = match head.body {
            BodyKind::Length(n) => n,
            _ => 0,
        };
        self.rec.begin(head.method.get(buf), body_len, false);
        if self.c.w.obs.logging() {
            let copy = &mut self.rec.head;
            copy.start(
                head.method.get(buf),
                head.target.get(buf),
                head.host.get(buf),
                PROTOCOL,
            );
            for h in &self.headers {
                copy.push_field(h.name.get(buf), h.value.get(buf));
            }
        }
    }

    pub(super) fn finish_record(&mut self) {
        let routed = self.routed.take();
        let at = Served {
            client: self.c.peer,
            entry_point: self.c.ep.index,
            entry_point_name: &self.c.ep.cfg.name,
            port: self.c.ep.local.port(),
            snapshot: routed.as_ref().map(|v| &*v.snapshot),
        };
        crate::observe::finish(&mut self.rec, &self.c.w.obs, &at);
        // circuitBreakers count HTTP/2 outcomes as HTTP/1.1 ones.
        self.edits.breakers_done(self.rec.status);
        self.edits.clear();
    }
}
