//! forwardAuth's call, made by the connection when the chain stops at the
//! middleware (`Flow::Call`): the auth request is built from the client's
//! head as Traefik's `forward.go` builds it (the client's fields less
//! hop-by-hop ones, X-Forwarded-Method/-Proto/-Host/-Uri/-For, and the body
//! with `forwardBody`), sent from this worker through its upstream pool
//! (`http::subrequest`), and its answer either lets the request go on with
//! the named fields copied onto it, or is the client's answer.

use std::ops::Range;

use super::{ClientIo, Conn, Outcome};
use crate::http::answer::{self, Answer};
use crate::http::auth_call::{self, Denial, Verdict};
use crate::http::codec::{BodyKind, ChunkedDecoder, RequestHead};
use crate::middleware::forward_auth::ForwardAuth;
use crate::runtime::io::{self, IoFail};

/// How the client's body was taken for the auth server.
enum Taken {
    /// None (no body, or `forwardBody` off).
    Nothing,
    /// These bytes of `buf` (a Content-Length body, now buffered whole).
    Range(Range<usize>),
    /// A chunked body, de-chunked (its framed bytes stay in `buf`).
    Decoded(Vec<u8>),
}

impl<S: ClientIo> Conn<S> {
    /// Runs forwardAuth `fa` (named `name` for the log). `Ok`: the request
    /// goes on; `Err`: the client was answered.
    pub(super) async fn forward_auth(
        &mut self,
        head: &RequestHead,
        fa: &ForwardAuth,
        name: &str,
    ) -> Result<(), Outcome> {
        let body = match self.take_body(head, fa).await {
            Ok(body) => body,
            Err(status) => return Err(self.auth_answer(head, &Denial::empty(status)).await),
        };
        let mut request = Vec::with_capacity(512);
        let payload: Option<&[u8]> = match &body {
            Taken::Nothing => None,
            Taken::Range(r) => Some(&self.buf[r.clone()]),
            Taken::Decoded(v) => Some(v),
        };
        // From the fields, not `&self`: the edits are changed while it lives.
        let client = auth_call::Client {
            buf: &self.buf,
            headers: &self.headers,
            trusted: self.trusted,
            tls: self.tls,
            client_ip: self.client_ip.as_str(),
        };
        auth_call::write_request(&client, head, fa, &self.edits, payload, &mut request);
        let method = head.method.get(&self.buf);
        match auth_call::call(&self.w.pool, fa, name, &mut request, head, method).await {
            Verdict::Allow(resp) => {
                auth_call::copy_fields(&client, &mut self.edits, fa, &resp);
                Ok(())
            }
            Verdict::Deny(denial) => Err(self.auth_answer(head, &denial).await),
        }
    }

    /// With `forwardBody`, reads the whole request body into `buf` (where the
    /// upstream request later takes it from). `Err(status)`: over
    /// `maxBodySize` (401) or unreadable (500), as Traefik answers.
    async fn take_body(&mut self, head: &RequestHead, fa: &ForwardAuth) -> Result<Taken, u16> {
        if !fa.forward_body {
            return Ok(Taken::Nothing);
        }
        let max = fa.max_body_size.unwrap_or(u64::MAX);
        match head.body {
            BodyKind::None | BodyKind::UntilClose => Ok(Taken::Nothing),
            BodyKind::Length(n) if n > max => Err(401),
            BodyKind::Length(n) => {
                let end = head.head_len + n as usize;
                while self.buf.len() < end {
                    self.read_more(end).await.map_err(|_| 500u16)?;
                }
                Ok(Taken::Range(head.head_len..end))
            }
            BodyKind::Chunked => self.take_chunked(head, max).await.map(Taken::Decoded),
        }
    }

    /// Reads a chunked body's framed bytes into `buf`, returning its payload.
    async fn take_chunked(&mut self, head: &RequestHead, max: u64) -> Result<Vec<u8>, u16> {
        let mut decoder = ChunkedDecoder::new();
        let mut payload = Vec::new();
        let mut at = head.head_len;
        loop {
            let slice = &self.buf[at..];
            let mut ranges: Vec<Range<usize>> = Vec::new();
            let progress = decoder
                .feed(slice, &mut |r| ranges.push(r))
                .map_err(|_| 400u16)?;
            for r in ranges {
                payload.extend_from_slice(&slice[r]);
            }
            if payload.len() as u64 > max {
                return Err(401);
            }
            at += progress.consumed;
            if progress.done {
                return Ok(payload);
            }
            self.read_more(self.buf.len() + 1)
                .await
                .map_err(|_| 500u16)?;
        }
    }

    /// One read of the client into `buf`, growing it towards `want` bytes,
    /// within the entry point's `readTimeout`.
    async fn read_more(&mut self, want: usize) -> Result<(), IoFail> {
        let free = (want - self.buf.len()).clamp(4096, 64 * 1024);
        self.buf.reserve(free);
        let deadline = self
            .ep
            .cfg
            .read_timeout
            .map(|d| std::time::Instant::now() + d);
        let n = io::read_some(&mut self.io, &mut self.buf, free, deadline).await?;
        if n == 0 {
            return Err(IoFail::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }

    /// Sends the middleware's answer: its status, exactly its fields (no
    /// Content-Type of its own) and body, with the chain's response edits.
    async fn auth_answer(&mut self, head: &RequestHead, d: &Denial) -> Outcome {
        self.edits.finish_chain();
        let close = self.local_must_close(head);
        let fields = d.field_refs();
        let a = Answer {
            status: d.status,
            content_type: None,
            headers: &fields,
            body: &d.body,
            no_store: false,
        };
        self.out.clear();
        answer::write_h1(&mut self.out, &a, &self.edits, close, head.is_head);
        self.send_local(head, close).await
    }
}
