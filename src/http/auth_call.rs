//! forwardAuth's call, whatever protocol the client spoke: the auth request
//! built from the client's field block as Traefik's `forward.go` builds it
//! (the client's fields less hop-by-hop ones, X-Forwarded-Method/-Proto/
//! -Host/-Uri/-For, and the body with `forwardBody`), sent from this worker
//! through its upstream pool (`http::subrequest`), and its answer: a 2xx lets
//! the request go on with the named fields copied onto it ([`copy_fields`]);
//! anything else is the client's answer ([`Denial`]). The HTTP/1.1
//! connection (`http/server/forward_auth.rs`) and an HTTP/2 stream
//! (`http/h2/forward_auth.rs`) each take the body and send the answer.

use crate::http::codec::{HeaderSpan, RequestHead};
use crate::http::subrequest::{self, SubError, SubResponse};
use crate::middleware::forward_auth::{AUTH_TIMEOUT, ForwardAuth, is_x_header};
use crate::middleware::{Edits, HeaderOp};
use crate::net::upstream::Pool;

/// The client side of the request, as the auth request is built from it.
pub struct Client<'a> {
    /// The request's field block and its fields' spans into it.
    pub buf: &'a [u8],
    pub headers: &'a [HeaderSpan],
    /// The entry point trusts the client's X-Forwarded-* fields.
    pub trusted: bool,
    pub tls: bool,
    pub client_ip: &'a str,
}

impl<'a> Client<'a> {
    /// The values of the client's fields named `name`.
    fn fields(&self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = self.buf;
        self.headers
            .iter()
            .filter(move |h| h.name.get(buf).eq_ignore_ascii_case(name))
            .map(move |h| h.value.get(buf))
    }
}

/// What the auth server decided.
pub enum Verdict {
    /// 2xx: the request goes on (after [`copy_fields`]).
    Allow(SubResponse),
    /// Anything else: this goes to the client.
    Deny(Denial),
}

/// Sends the auth request (`request`, built by [`write_request`]) and reads
/// the verdict. An auth server unreachable, too slow or broken is a `500`
/// (an answer over `maxResponseBodySize` a `401`), logged, as Traefik does.
pub async fn call(
    pool: &Pool,
    fa: &ForwardAuth,
    name: &str,
    request: &mut Vec<u8>,
    head: &RequestHead,
    method: &[u8],
) -> Verdict {
    let head_request = fa.preserve_request_method && head.is_head;
    let max = fa.max_response_body_size;
    let to = (fa.addr, fa.tls.as_deref());
    let answer = subrequest::call(pool, to, request, head_request, max, AUTH_TIMEOUT);
    match answer.await {
        Ok(resp) if (200..300).contains(&resp.status) => Verdict::Allow(resp),
        Ok(resp) => Verdict::Deny(Denial::of(fa, method, resp)),
        Err(e) => {
            let status = match e {
                SubError::TooLarge(_) => 401,
                _ => 500,
            };
            log::error!(
                "forwardAuth {name}: error calling {}://{}{}: {e} (answered {status})",
                if fa.tls.is_some() { "https" } else { "http" },
                fa.authority,
                fa.target
            );
            Verdict::Deny(Denial::empty(status))
        }
    }
}

/// The auth request: Traefik's `writeHeader` (trustForwardHeader set) or
/// `oldWriteHeader` (unset), over the client's fields; `payload` is the body
/// taken with `forwardBody`.
pub fn write_request(
    c: &Client,
    head: &RequestHead,
    fa: &ForwardAuth,
    edits: &Edits,
    payload: Option<&[u8]>,
    out: &mut Vec<u8>,
) {
    let buf = c.buf;
    let method = match fa.preserve_request_method {
        true => head.method.get(buf),
        false => b"GET",
    };
    line(out, &[method, b" ", fa.target.as_bytes(), b" HTTP/1.1"]);
    line(out, &[b"Host: ", fa.authority.as_bytes()]);
    let connection: Vec<&[u8]> = c.fields(b"connection").collect();
    let trust = fa.trust_forward_header == Some(true);
    // A client the entry point does not trust has its X- headers
    // replaced there, as Traefik's entry point does before any middleware.
    let client_x = c.trusted;
    for h in c.headers {
        let (name, value) = (h.name.get(buf), h.value.get(buf));
        if is_x_header(name) && !client_x {
            continue;
        }
        if fa.sends(name, &connection) && !(trust && name.eq_ignore_ascii_case(b"x-forwarded-for"))
        {
            line(out, &[name, b": ", value]);
        }
    }
    let present = |n: &'static [u8]| client_x && trust && c.fields(n).next().is_some();
    let mut xff: Vec<u8> = Vec::new();
    if trust && client_x {
        for v in c.fields(b"x-forwarded-for") {
            xff.extend_from_slice(v);
            xff.extend_from_slice(b", ");
        }
    }
    xff.extend_from_slice(c.client_ip.as_bytes());
    line(out, &[b"X-Forwarded-For: ", &xff]);
    let proto: &[u8] = if c.tls { b"https" } else { b"http" };
    let host = head.host.get(buf);
    if !present(b"x-forwarded-method") {
        line(out, &[b"X-Forwarded-Method: ", head.method.get(buf)]);
    }
    if !present(b"x-forwarded-proto") {
        line(out, &[b"X-Forwarded-Proto: ", proto]);
    }
    if fa.trust_forward_header.is_some() && !present(b"x-forwarded-port") {
        line(out, &[b"X-Forwarded-Port: ", forwarded_port(host, c.tls)]);
    }
    if !present(b"x-forwarded-host") {
        line(out, &[b"X-Forwarded-Host: ", host]);
    }
    if !present(b"x-forwarded-uri") {
        let path = edits.path(head.path.get(buf));
        let query = head.query.get(buf);
        let q: &[u8] = if query.is_empty() { b"" } else { b"?" };
        line(out, &[b"X-Forwarded-Uri: ", path, q, query]);
    }
    if let Some(payload) = payload {
        let mut digits = itoa::Buffer::new();
        line(
            out,
            &[b"Content-Length: ", digits.format(payload.len()).as_bytes()],
        );
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload.unwrap_or(b""));
}

/// A 2xx: the named fields (and those the regex matches) replace the
/// request's; the listed cookies go to the client with the response.
pub fn copy_fields(c: &Client, edits: &mut Edits, fa: &ForwardAuth, resp: &SubResponse) {
    for name in &fa.auth_response_headers {
        let mut values = resp
            .fields()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
        match values.next() {
            None => edits.request_header(HeaderOp::Remove, name.as_bytes(), b""),
            Some((_, first)) => {
                edits.request_header(HeaderOp::Set, name.as_bytes(), first);
                for (_, v) in values {
                    edits.request_header(HeaderOp::Add, name.as_bytes(), v);
                }
            }
        }
    }
    if fa.auth_response_headers_regex.is_some() {
        for h in c.headers {
            let name = h.name.get(c.buf);
            if fa.regex_matches(name) {
                edits.request_header(HeaderOp::Remove, name, b"");
            }
        }
        for (name, value) in resp.fields().filter(|(n, _)| fa.regex_matches(n)) {
            edits.request_header(HeaderOp::Add, name, value);
        }
    }
    let cookies = resp
        .fields()
        .filter(|(n, v)| n.eq_ignore_ascii_case(b"set-cookie") && fa.adds_cookie(v));
    for (_, v) in cookies {
        edits.response_header(HeaderOp::Add, b"Set-Cookie", v);
    }
}

/// The client's answer when the auth server refused (or failed): exactly
/// these fields (no Content-Type of the middleware's own) and body.
pub struct Denial {
    pub status: u16,
    pub fields: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Denial {
    pub fn empty(status: u16) -> Denial {
        Denial {
            status,
            fields: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Not a 2xx: the auth server's status, fields and body (`Location`
    /// resolved against the auth address unless preserved); a 401 with
    /// `authSigninURL` is a 302 there instead.
    fn of(fa: &ForwardAuth, method: &[u8], resp: SubResponse) -> Denial {
        if let (Some(url), 401) = (&fa.auth_signin_url, resp.status) {
            let body = signin_body(url, method);
            let mut fields = vec![("Location".to_string(), url.as_bytes().to_vec())];
            if !body.is_empty() {
                let html = b"text/html; charset=utf-8".to_vec();
                fields.push(("Content-Type".to_string(), html));
            }
            return Denial {
                status: 302,
                fields,
                body: body.into_bytes(),
            };
        }
        let location = resp
            .fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"location"))
            .map(|(_, v)| fa.location(&String::from_utf8_lossy(v)));
        let mut fields: Vec<(String, Vec<u8>)> = resp
            .fields()
            .filter(|(n, _)| ForwardAuth::passes_back(n) && !n.eq_ignore_ascii_case(b"location"))
            .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), v.to_vec()))
            .collect();
        if let Some(l) = location {
            fields.push(("Location".to_string(), l.into_bytes()));
        }
        Denial {
            status: resp.status,
            fields,
            body: resp.body,
        }
    }

    /// The fields as an `Answer` takes them.
    pub fn field_refs(&self) -> Vec<(&str, &[u8])> {
        self.fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect()
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
