//! Answers the proxy makes itself — a middleware's refusal or redirect, whoami,
//! a `respond` service, the entry point's HTTPS redirect, the `@internal`
//! admin services — as one protocol-neutral value: a status, a content type,
//! extra headers and a body. Each service builds an [`Answer`]; the request's
//! protocol frames it (HTTP/1.1: [`write_h1`]), applying the router's response
//! header edits in the same pass, so a new protocol frames the same answers
//! without touching the services.

use crate::middleware::{Edits, HeaderOp, drops, write_appended};

/// A response made here rather than by an upstream.
pub struct Answer<'a> {
    pub status: u16,
    /// `None`: no Content-Type (an empty redirect, a bodiless status).
    pub content_type: Option<&'a str>,
    /// Further header fields, in order.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
    /// `Cache-Control: no-store` (admin services' answers change every time).
    pub no_store: bool,
}

impl<'a> Answer<'a> {
    /// A plain-text answer.
    pub fn text(status: u16, body: &'a [u8]) -> Answer<'a> {
        Answer {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            headers: &[],
            body,
            no_store: false,
        }
    }

    /// 1xx, 204 and 304 carry no body and no length (RFC 9110 §8.6, §15.4.5).
    pub fn bodiless(&self) -> bool {
        self.status < 200 || self.status == 204 || self.status == 304
    }
}

/// Appends `a` framed as an HTTP/1.1 response to `out`: status line, the
/// answer's fields less those a response edit sets or removes, then the edits,
/// `Content-Length` (unless the status is bodiless), `Connection: close` when
/// `close`, and the body unless `head_request`.
pub fn write_h1(out: &mut Vec<u8>, a: &Answer, edits: &Edits, close: bool, head_request: bool) {
    // One allocation for a fresh connection's empty buffer, not one per
    // doubling while the head is written field by field.
    let fields: usize = a.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    out.reserve(160 + fields + a.body.len());
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(digits.format(a.status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(crate::service::respond::reason(a.status).as_bytes());
    out.extend_from_slice(b"\r\n");
    let bodiless = a.bodiless();
    let edited = !edits.is_empty();
    let field = |out: &mut Vec<u8>, name: &[u8], value: &[u8]| {
        if !(edited && drops(edits.response_edits(), name)) {
            put(out, name, value);
        }
    };
    if let Some(ct) = a.content_type.filter(|_| !bodiless) {
        field(out, b"content-type", ct.as_bytes());
    }
    if a.no_store {
        field(out, b"cache-control", b"no-store");
    }
    for (name, value) in a.headers {
        field(out, name.as_bytes(), value);
    }
    for (op, name, value) in edits.response_edits() {
        match op {
            HeaderOp::Remove => {}
            HeaderOp::Append => {
                let first = a
                    .headers
                    .iter()
                    .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v);
                write_appended(out, name, first, value);
            }
            _ => put(out, name, value),
        }
    }
    if !bodiless {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(digits.format(a.body.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_request && !bodiless {
        out.extend_from_slice(a.body);
    }
}

fn put(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(a: &Answer, edits: &Edits, close: bool, head: bool) -> String {
        let mut out = Vec::new();
        write_h1(&mut out, a, edits, close, head);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_text_answer_has_its_exact_length_and_close_when_asked() {
        let a = Answer::text(403, b"Forbidden");
        let text = framed(&a, &Edits::default(), true, false);
        assert_eq!(
            text,
            "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: 9\r\nconnection: close\r\n\r\nForbidden"
        );
        let head = framed(&a, &Edits::default(), false, true);
        assert!(head.ends_with("content-length: 9\r\n\r\n"), "{head}");
    }

    #[test]
    fn bodiless_statuses_get_no_length_type_or_body() {
        for status in [101, 204, 304] {
            let text = framed(&Answer::text(status, b"x"), &Edits::default(), false, false);
            assert!(!text.contains("content-length"), "{text}");
            assert!(!text.contains("content-type"), "{text}");
            assert!(text.ends_with("\r\n\r\n"), "{text}");
        }
    }

    #[test]
    fn response_edits_replace_the_answers_own_fields_in_one_pass() {
        let mut edits = Edits::default();
        edits.response_header(HeaderOp::Set, b"Location", b"/elsewhere");
        edits.response_header(HeaderOp::Remove, b"cache-control", b"");
        edits.response_header(HeaderOp::Add, b"X-Extra", b"1");
        let a = Answer {
            status: 302,
            content_type: None,
            headers: &[("location", b"/here")],
            body: b"",
            no_store: true,
        };
        let text = framed(&a, &edits, false, false);
        assert!(!text.contains("/here") && text.contains("Location: /elsewhere\r\n"));
        assert!(!text.contains("cache-control"), "{text}");
        assert!(text.contains("X-Extra: 1\r\n"), "{text}");
        assert!(text.contains("content-length: 0\r\n"), "{text}");
    }
}
