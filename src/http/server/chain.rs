//! The connection's side of the middleware chain: run the request phase of the
//! entry point's and the router's middlewares over the parsed head, and send
//! the answer when one of them answered (`answers.rs`). Middlewares see only the
//! protocol-neutral `RequestInfo`; the edits they leave are applied where the
//! upstream and response heads are written.

use super::{ClientIo, Conn, HeaderView, Outcome, request_info};
use crate::config::Router;
use crate::http::codec::RequestHead;
use crate::middleware::limits::redis;
use crate::middleware::{self, At, Flow, Middleware};
use crate::worker::view::View;

impl<S: ClientIo> Conn<S> {
    /// The entry point's chain, then the router's; a router without middlewares
    /// (on an entry point without any) costs two length checks. A middleware
    /// that needs a call (forwardAuth) has it made here, then the chain goes
    /// on after it; `Err`: that call's answer was sent to the client.
    pub(super) async fn run_chain(
        &mut self,
        head: &RequestHead,
        view: &View,
        router: &Router,
    ) -> Result<Flow, Outcome> {
        let entry = &view.snapshot.entry_chains[self.ep.index];
        if entry.is_empty() && router.middlewares.is_empty() {
            return Ok(Flow::Next);
        }
        let (defs, states) = (&view.snapshot.middlewares, &view.middlewares);
        let chains = [&entry[..], &router.middlewares[..]];
        let mut from = At::default();
        loop {
            let flow = {
                let lookup = HeaderView {
                    buf: &self.buf,
                    headers: &self.headers,
                };
                let mut info =
                    request_info(head, &self.buf, &lookup, self.peer, self.tls, self.trusted);
                info.client_certs = self.client_certs.as_deref();
                middleware::run_from(defs, states, chains, &info, &mut self.edits, from)
            };
            let Flow::Call(at) = flow else {
                if flow == Flow::Next && !self.edits.catchers().is_empty() {
                    self.save_for_errors(head);
                }
                return Ok(flow);
            };
            let def = &defs[chains[at.chain as usize][at.index as usize] as usize];
            if let Middleware::ForwardAuth(fa) = &def.kind {
                self.forward_auth(head, fa, &def.name).await?;
            }
            if let Middleware::RateLimit(rl) = &def.kind {
                let key = {
                    let lookup = HeaderView {
                        buf: &self.buf,
                        headers: &self.headers,
                    };
                    let info =
                        request_info(head, &self.buf, &lookup, self.peer, self.tls, self.trusted);
                    redis::key(rl, &def.name, &info)
                };
                let state = &states[chains[at.chain as usize][at.index as usize] as usize];
                // A client that leaves during a hold ends it (`limits::hold`).
                let gone = || self.io.peer_closed();
                let flow = redis::call(rl, &def.name, state, &key, &mut self.edits, gone).await;
                if flow == Flow::Answer {
                    return Ok(Flow::Answer);
                }
            }
            from = at.next();
        }
    }
}
