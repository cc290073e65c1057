//! forwardAuth for an HTTP/2 stream: the chain stopped at the middleware
//! (`Flow::Call`), the call is made as for HTTP/1.1 (`http::auth_call`), and a
//! refusal is the stream's answer. A body for the auth server (`forwardBody`)
//! would have to be read from the stream's frames and kept for the upstream:
//! not done yet, so such a request is refused (500, logged) rather than let
//! through unchecked.

use super::stream::Stream;
use crate::http::answer::{self, Answer};
use crate::http::auth_call::{self, Denial, Verdict};
use crate::http::codec::{BodyKind, RequestHead};
use crate::middleware::forward_auth::ForwardAuth;

impl Stream {
    /// Runs forwardAuth `fa` (named `name` for the log). `true`: the request
    /// goes on; `false`: the client was answered.
    pub(super) async fn forward_auth(
        &mut self,
        head: &RequestHead,
        fa: &ForwardAuth,
        name: &str,
    ) -> bool {
        if fa.forward_body && head.body != BodyKind::None {
            log::error!(
                "forwardAuth {name}: forwardBody is not supported over HTTP/2 yet: answered 500"
            );
            self.auth_answer(head, &Denial::empty(500)).await;
            return false;
        }
        let mut request = Vec::with_capacity(512);
        let client = auth_call::Client {
            buf: &self.buf,
            headers: &self.headers,
            trusted: self.c.trusted,
            tls: self.c.tls,
            client_ip: self.c.client_ip.as_str(),
        };
        auth_call::write_request(&client, head, fa, &self.edits, None, &mut request);
        let method = head.method.get(&self.buf);
        match auth_call::call(&self.c.w.pool, fa, name, &mut request, head, method).await {
            Verdict::Allow(resp) => {
                auth_call::copy_fields(&client, &mut self.edits, fa, &resp);
                true
            }
            Verdict::Deny(denial) => {
                self.auth_answer(head, &denial).await;
                false
            }
        }
    }

    /// Sends the middleware's answer: its status, exactly its fields and
    /// body, with the chain's response edits.
    async fn auth_answer(&mut self, head: &RequestHead, d: &Denial) {
        self.edits.finish_chain();
        let fields = d.field_refs();
        let a = Answer {
            status: d.status,
            content_type: None,
            headers: &fields,
            body: &d.body,
            no_store: false,
        };
        self.out.clear();
        answer::write_h1(&mut self.out, &a, &self.edits, false, head.is_head);
        self.send_out(head.is_head).await;
    }
}
