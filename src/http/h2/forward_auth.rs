//! forwardAuth for an HTTP/2 stream: the chain stopped at the middleware
//! (`Flow::Call`), the call is made as for HTTP/1.1 (`http::auth_call`), and a
//! refusal is the stream's answer. With `forwardBody`, the body is read from
//! the stream's DATA frames first (bounded by `maxBodySize`: over it, 401 as
//! in Traefik) and kept in `Stream::taken`, where the upstream request takes
//! it from (`downstream::send_body`).

use std::future::poll_fn;
use std::time::Instant;

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
        if fa.forward_body
            && head.body != BodyKind::None
            && let Err(status) = self.take_body(fa).await
        {
            log::debug!("forwardAuth {name}: request body not taken: answered {status}");
            self.auth_answer(head, &Denial::empty(status)).await;
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
        let payload = self.taken.as_deref();
        auth_call::write_request(&client, head, fa, &self.edits, payload, &mut request);
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

    /// Reads the whole body from the stream's frames into `taken`. `Err`:
    /// over `maxBodySize` (401, as Traefik), over the entry point's
    /// `maxRequestBodyBytes` (413), or unreadable (500).
    async fn take_body(&mut self, fa: &ForwardAuth) -> Result<(), u16> {
        let Some(mut body) = self.body.take() else {
            return Ok(());
        };
        let max = fa.max_body_size.unwrap_or(u64::MAX);
        let limit = self.c.ep.cfg.max_request_body_bytes.unwrap_or(u64::MAX);
        let read_timeout = self.c.ep.cfg.read_timeout;
        let mut data = Vec::new();
        loop {
            let deadline = read_timeout.map(|d| Instant::now() + d);
            let next = crate::runtime::io::until(deadline, poll_fn(|cx| body.poll_data(cx)));
            match next.await {
                Ok(None) => break,
                Ok(Some(Ok(d))) => {
                    data.extend_from_slice(&d);
                    let _ = body.flow_control().release_capacity(d.len());
                }
                Ok(Some(Err(_))) | Err(_) => return Err(500),
            }
            let n = data.len() as u64;
            if n > max {
                return Err(401);
            }
            if n > limit {
                return Err(413);
            }
        }
        self.taken = Some(data);
        Ok(())
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
