//! The connection's side of the middleware chain: run the request phase of the
//! entry point's and the router's middlewares over the parsed head, and send
//! the answer when one of them answered. Middlewares see only the
//! protocol-neutral `RequestInfo`; the edits they leave are applied where the
//! upstream and response heads are written.

use super::{ClientIo, Conn, HeaderView, Outcome, request_info};
use crate::config::Router;
use crate::http::codec::RequestHead;
use crate::middleware::{self, Flow};
use crate::worker::view::View;

impl<S: ClientIo> Conn<S> {
    /// The entry point's chain, then the router's; a router without middlewares
    /// (on an entry point without any) costs two length checks.
    pub(super) fn run_chain(&mut self, head: &RequestHead, view: &View, router: &Router) -> Flow {
        let entry = &view.snapshot.entry_chains[self.ep.index];
        if entry.is_empty() && router.middlewares.is_empty() {
            return Flow::Next;
        }
        let lookup = HeaderView {
            buf: &self.buf,
            headers: &self.headers,
        };
        let mut info = request_info(head, &self.buf, &lookup, self.peer, self.tls, self.trusted);
        info.client_certs = self.client_certs.as_deref();
        let (defs, states) = (&view.snapshot.middlewares, &view.middlewares);
        match middleware::on_request(defs, states, entry, &info, &mut self.edits) {
            Flow::Answer => Flow::Answer,
            Flow::Next => {
                let chain = &router.middlewares;
                middleware::on_request(defs, states, chain, &info, &mut self.edits)
            }
        }
    }

    /// Sends what a middleware answered (its status, body and response headers).
    pub(super) async fn answer_from_chain(&mut self, head: &RequestHead) -> Outcome {
        let close = self.local_must_close(head);
        let Some((status, body)) = self.edits.answered() else {
            return Outcome::Close;
        };
        self.out.clear();
        self.out.extend_from_slice(b"HTTP/1.1 ");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
        self.out.push(b' ');
        self.out
            .extend_from_slice(crate::service::respond::reason(status).as_bytes());
        self.out.extend_from_slice(b"\r\n");
        // 1xx, 204 and 304 carry no body and no length (RFC 9110 §8.6): a
        // middleware answering one must not frame the connection wrongly.
        let bodiless = status < 200 || status == 204 || status == 304;
        if !bodiless {
            self.out
                .extend_from_slice(b"content-type: text/plain; charset=utf-8\r\ncontent-length: ");
            self.out
                .extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        if close {
            self.out.extend_from_slice(b"connection: close\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        if !head.is_head && !bodiless {
            self.out.extend_from_slice(body);
        }
        self.send_local(head, close).await
    }
}
