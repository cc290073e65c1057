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
use crate::http::codec::{BodyKind, ChunkedDecoder, RequestHead};
use crate::http::subrequest::{self, SubError, SubResponse};
use crate::middleware::HeaderOp;
use crate::middleware::forward_auth::{AUTH_TIMEOUT, ForwardAuth, is_x_header};
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
            Err(status) => return Err(self.auth_answer(head, status, &[], b"").await),
        };
        let mut request = Vec::with_capacity(512);
        self.write_auth_request(head, fa, &body, &mut request);
        let head_request = fa.preserve_request_method && head.is_head;
        let max = fa.max_response_body_size;
        let pool = &self.w.pool;
        let answer = subrequest::call(pool, fa.addr, &mut request, head_request, max, AUTH_TIMEOUT);
        match answer.await {
            Ok(resp) if (200..300).contains(&resp.status) => {
                self.copy_auth_fields(fa, &resp);
                Ok(())
            }
            Ok(resp) => Err(self.deny(head, fa, &resp).await),
            Err(e) => {
                let status = match e {
                    SubError::TooLarge(_) => 401,
                    _ => 500,
                };
                log::error!(
                    "forwardAuth {name}: error calling http://{}{}: {e} (answered {status})",
                    fa.authority,
                    fa.target
                );
                Err(self.auth_answer(head, status, &[], b"").await)
            }
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

    /// The auth request: Traefik's `writeHeader` (trustForwardHeader set) or
    /// `oldWriteHeader` (unset), over the client's fields.
    fn write_auth_request(
        &self,
        head: &RequestHead,
        fa: &ForwardAuth,
        body: &Taken,
        out: &mut Vec<u8>,
    ) {
        let buf = &self.buf;
        let method = match fa.preserve_request_method {
            true => head.method.get(buf),
            false => b"GET",
        };
        line(out, &[method, b" ", fa.target.as_bytes(), b" HTTP/1.1"]);
        line(out, &[b"Host: ", fa.authority.as_bytes()]);
        let connection: Vec<&[u8]> = self.fields(b"connection").collect();
        let trust = fa.trust_forward_header == Some(true);
        // A client the entry point does not trust has its X- headers
        // replaced there, as Traefik's entry point does before any middleware.
        let client_x = self.trusted;
        for h in &self.headers {
            let (name, value) = (h.name.get(buf), h.value.get(buf));
            if is_x_header(name) && !client_x {
                continue;
            }
            if fa.sends(name, &connection)
                && !(trust && name.eq_ignore_ascii_case(b"x-forwarded-for"))
            {
                line(out, &[name, b": ", value]);
            }
        }
        let present = |n: &[u8]| client_x && trust && self.fields(n).next().is_some();
        let mut xff: Vec<u8> = Vec::new();
        if trust && client_x {
            for v in self.fields(b"x-forwarded-for") {
                xff.extend_from_slice(v);
                xff.extend_from_slice(b", ");
            }
        }
        xff.extend_from_slice(self.client_ip.as_str().as_bytes());
        line(out, &[b"X-Forwarded-For: ", &xff]);
        let proto: &[u8] = if self.tls { b"https" } else { b"http" };
        let host = head.host.get(buf);
        if !present(b"x-forwarded-method") {
            line(out, &[b"X-Forwarded-Method: ", head.method.get(buf)]);
        }
        if !present(b"x-forwarded-proto") {
            line(out, &[b"X-Forwarded-Proto: ", proto]);
        }
        if fa.trust_forward_header.is_some() && !present(b"x-forwarded-port") {
            line(
                out,
                &[b"X-Forwarded-Port: ", forwarded_port(host, self.tls)],
            );
        }
        if !present(b"x-forwarded-host") {
            line(out, &[b"X-Forwarded-Host: ", host]);
        }
        if !present(b"x-forwarded-uri") {
            let path = self.edits.path(head.path.get(buf));
            let query = head.query.get(buf);
            let q: &[u8] = if query.is_empty() { b"" } else { b"?" };
            line(out, &[b"X-Forwarded-Uri: ", path, q, query]);
        }
        let payload: &[u8] = match body {
            Taken::Nothing => b"",
            Taken::Range(r) => &buf[r.clone()],
            Taken::Decoded(v) => v,
        };
        if !matches!(body, Taken::Nothing) {
            let mut digits = itoa::Buffer::new();
            line(
                out,
                &[b"Content-Length: ", digits.format(payload.len()).as_bytes()],
            );
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(payload);
    }

    /// The values of the client's fields named `name`.
    fn fields<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.get(&self.buf).eq_ignore_ascii_case(name))
            .map(|h| h.value.get(&self.buf))
    }

    /// A 2xx: the named fields (and those the regex matches) replace the
    /// request's; the listed cookies go to the client with the response.
    fn copy_auth_fields(&mut self, fa: &ForwardAuth, resp: &SubResponse) {
        for name in &fa.auth_response_headers {
            let mut values = resp
                .fields()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
            match values.next() {
                None => self
                    .edits
                    .request_header(HeaderOp::Remove, name.as_bytes(), b""),
                Some((_, first)) => {
                    self.edits
                        .request_header(HeaderOp::Set, name.as_bytes(), first);
                    for (_, v) in values {
                        self.edits.request_header(HeaderOp::Add, name.as_bytes(), v);
                    }
                }
            }
        }
        if fa.auth_response_headers_regex.is_some() {
            for h in &self.headers {
                let name = h.name.get(&self.buf);
                if fa.regex_matches(name) {
                    self.edits.request_header(HeaderOp::Remove, name, b"");
                }
            }
            for (name, value) in resp.fields().filter(|(n, _)| fa.regex_matches(n)) {
                self.edits.request_header(HeaderOp::Add, name, value);
            }
        }
        let cookies = resp
            .fields()
            .filter(|(n, v)| n.eq_ignore_ascii_case(b"set-cookie") && fa.adds_cookie(v));
        for (_, v) in cookies {
            self.edits.response_header(HeaderOp::Add, b"Set-Cookie", v);
        }
    }

    /// Not a 2xx: the auth server's status, fields and body go to the client
    /// (`Location` resolved against the auth address unless preserved); a 401
    /// with `authSigninURL` is a 302 there instead.
    async fn deny(&mut self, head: &RequestHead, fa: &ForwardAuth, resp: &SubResponse) -> Outcome {
        if let (Some(url), 401) = (&fa.auth_signin_url, resp.status) {
            let body = signin_body(url, head.method.get(&self.buf));
            let mut fields: Vec<(&str, &[u8])> = vec![("Location", url.as_bytes())];
            if !body.is_empty() {
                fields.push(("Content-Type", b"text/html; charset=utf-8"));
            }
            return self.auth_answer(head, 302, &fields, body.as_bytes()).await;
        }
        let location = resp
            .fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"location"))
            .map(|(_, v)| fa.location(&String::from_utf8_lossy(v)));
        let mut fields: Vec<(&str, &[u8])> = resp
            .fields()
            .filter(|(n, _)| ForwardAuth::passes_back(n) && !n.eq_ignore_ascii_case(b"location"))
            .map(|(n, v)| (std::str::from_utf8(n).unwrap_or("X-Invalid"), v))
            .collect();
        if let Some(l) = &location {
            fields.push(("Location", l.as_bytes()));
        }
        self.auth_answer(head, resp.status, &fields, &resp.body)
            .await
    }

    /// Sends an answer of the middleware: `status`, exactly these fields (no
    /// Content-Type of its own) and `body`, with the chain's response edits.
    async fn auth_answer(
        &mut self,
        head: &RequestHead,
        status: u16,
        fields: &[(&str, &[u8])],
        body: &[u8],
    ) -> Outcome {
        self.edits.finish_chain();
        let close = self.local_must_close(head);
        let a = Answer {
            status,
            content_type: None,
            headers: fields,
            body,
            no_store: false,
        };
        self.out.clear();
        answer::write_h1(&mut self.out, &a, &self.edits, close, head.is_head);
        self.send_local(head, close).await
    }
}

fn line(out: &mut Vec<u8>, parts: &[&[u8]]) {
    for p in parts {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(b"\r\n");
}

/// Traefik's `forwardedPort`: the Host's port, else 443 or 80 by scheme.
fn forwarded_port(host: &[u8], tls: bool) -> &[u8] {
    let port = match host.iter().rposition(|&b| b == b':') {
        Some(i) if !host[i + 1..].is_empty() && !host[i + 1..].contains(&b']') => &host[i + 1..],
        _ => b"",
    };
    match (port, tls) {
        (p, _) if !p.is_empty() => p,
        (_, true) => b"443",
        (_, false) => b"80",
    }
}

/// Go's `http.Redirect` body: a link for GET and HEAD, nothing otherwise.
fn signin_body(url: &str, method: &[u8]) -> String {
    if method != b"GET" && method != b"HEAD" {
        return String::new();
    }
    let escaped = url
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    format!("<a href=\"{escaped}\">Found</a>.\n\n")
}
