//! The connection's side of the middleware chain: run the request phase of the
//! entry point's and the router's middlewares over the parsed head, and send
//! the answer when one of them answered (`answers.rs`). Middlewares see only the
//! protocol-neutral `RequestInfo`; the edits they leave are applied where the
//! upstream and response heads are written.

use super::{ClientIo, Conn, HeaderView, request_info};
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
        let chains = [&entry[..], &router.middlewares[..]];
        middleware::run(defs, states, chains, &info, &mut self.edits)
    }
}
