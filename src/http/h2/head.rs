//! Header translation between an HTTP/2 stream and the HTTP/1.1 field blocks
//! the rest of the pipeline reads and writes.
//!
//! Request: the decoded HPACK block is written out as an HTTP/1.1 head
//! (`:method :path HTTP/1.1`, `host` from `:authority`, cookies recombined with
//! `; `, framing from the stream's state) and parsed by the same codec as a
//! client's HTTP/1.1 head, so routing, middlewares and `forward` see the usual
//! spans and the same validation runs on both. Response: an HTTP/1.1 head made
//! here (`forward::write_response_head`, `answer::write_h1`, the error map's
//! static answers) becomes an `http::Response`, less the connection-specific
//! fields HTTP/2 forbids (RFC 9113 §8.2.2).

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};

use crate::http::codec::BodyKind;
use crate::http::error::ProxyError;

/// Fields that belong to one HTTP/1.1 connection and never travel on HTTP/2.
const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Writes the request's head into `buf` as HTTP/1.1. `end_stream`: the HEADERS
/// frame ended the stream, so there is no body. A body without a declared
/// length is framed as chunked toward the upstream.
pub fn write_request(parts: &Parts, end_stream: bool, buf: &mut Vec<u8>) -> Result<(), ProxyError> {
    let bad = |why| Err(ProxyError::BadRequest(why));
    if parts.method == http::Method::CONNECT {
        // Extended CONNECT (RFC 8441) is not enabled: h2 refuses it before here.
        return Err(ProxyError::NotImplemented("CONNECT"));
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    if !path.starts_with('/') && path != "*" {
        return bad("HTTP/2 :path is not origin-form");
    }
    buf.clear();
    buf.extend_from_slice(parts.method.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(path.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    // RFC 9113 §8.3.1: `:authority` wins over `host`; without it, `host` is the
    // request's host as in HTTP/1.1.
    let authority = parts.uri.authority().map(|a| a.as_str());
    if let Some(a) = authority {
        put(buf, b"host", a.as_bytes());
    }
    let mut has_length = false;
    for (name, value) in &parts.headers {
        if *name == http::header::HOST && authority.is_some() {
            continue;
        }
        if *name == http::header::COOKIE {
            continue; // recombined below
        }
        if CONNECTION_SPECIFIC.contains(&name.as_str()) {
            return bad("connection-specific field in an HTTP/2 request");
        }
        has_length |= *name == http::header::CONTENT_LENGTH;
        put(buf, name.as_str().as_bytes(), value.as_bytes());
    }
    // RFC 9113 §8.2.3: split cookie fields are joined with "; " for HTTP/1.1.
    let mut cookies = parts.headers.get_all(http::header::COOKIE).iter();
    if let Some(first) = cookies.next() {
        buf.extend_from_slice(b"cookie: ");
        buf.extend_from_slice(first.as_bytes());
        for c in cookies {
            buf.extend_from_slice(b"; ");
            buf.extend_from_slice(c.as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
    }
    if !end_stream && !has_length {
        put(buf, b"transfer-encoding", b"chunked");
    }
    buf.extend_from_slice(b"\r\n");
    Ok(())
}

fn put(buf: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    buf.extend_from_slice(name);
    buf.extend_from_slice(b": ");
    buf.extend_from_slice(value);
    buf.extend_from_slice(b"\r\n");
}

/// An HTTP/2 upstream's response head for this client, as the HTTP/1.1
/// round trip (`forward::write_response_head` without edits, then
/// [`response_from_h1`]) would make it: connection-specific fields, `te` and
/// `trailer` dropped, and the length the codec framed the body with (`body`,
/// `content-length: 0` for a body-less stream) as the only Content-Length.
pub fn response_from_h2(parts: http::response::Parts, body: BodyKind) -> Response<()> {
    let mut headers = parts.headers;
    for name in CONNECTION_SPECIFIC.iter().chain(&["te", "trailer"]) {
        headers.remove(*name);
    }
    if let BodyKind::Length(n) = body {
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    let mut resp = Response::new(());
    *resp.status_mut() = parts.status;
    *resp.headers_mut() = headers;
    resp
}

/// Turns an HTTP/1.1 response head made here (at the start of `h1`) into an
/// HTTP/2 response. Returns it with the offset where the body starts.
pub fn response_from_h1(h1: &[u8]) -> Option<(Response<()>, usize)> {
    let mut fields = [httparse::EMPTY_HEADER; 256];
    let mut parsed = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(len) = parsed.parse(h1).ok()? else {
        return None;
    };
    let status = StatusCode::from_u16(parsed.code?).ok()?;
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    for f in parsed.headers.iter() {
        let name = HeaderName::from_bytes(f.name.as_bytes()).ok()?;
        if CONNECTION_SPECIFIC.contains(&name.as_str()) {
            continue;
        }
        // A field value the HTTP/1.1 codec let through (obs-text included) is
        // valid here too; one that is not is left out rather than failing
        // the whole response.
        if let Ok(v) = HeaderValue::from_bytes(f.value) {
            headers.append(name, v);
        }
    }
    let mut resp = Response::new(());
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    Some((resp, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: http::Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn authority_becomes_host_and_cookies_are_joined() {
        let req = http::Request::builder()
            .method("POST")
            .uri("https://example.com:8443/a?b=1")
            .header("host", "ignored.example")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let mut buf = Vec::new();
        write_request(&parts(req), false, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "POST /a?b=1 HTTP/1.1\r\nhost: example.com:8443\r\nte: trailers\r\n\
             cookie: a=1; b=2\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn a_length_or_the_end_of_the_stream_means_no_chunked_framing() {
        let req = http::Request::builder()
            .uri("http://h/")
            .header("content-length", "3")
            .body(())
            .unwrap();
        let mut buf = Vec::new();
        write_request(&parts(req), false, &mut buf).unwrap();
        assert!(!String::from_utf8_lossy(&buf).contains("chunked"));
        let req = http::Request::builder().uri("http://h/").body(()).unwrap();
        write_request(&parts(req), true, &mut buf).unwrap();
        assert_eq!(buf, b"GET / HTTP/1.1\r\nhost: h\r\n\r\n");
    }

    #[test]
    fn an_h2_upstream_head_goes_on_as_the_http1_round_trip_would_make_it() {
        let parts = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("trailer", "grpc-status")
            .header("content-length", "5")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let resp = response_from_h2(parts, BodyKind::Length(5));
        assert_eq!(resp.status(), 200);
        let names: Vec<&str> = resp.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type", "content-length"]);
        assert_eq!(resp.headers()["content-length"], "5");
        // A stream that ended with its head is framed as empty, as
        // `render_head` frames it for the codec.
        let ended = http::Response::builder().status(404).body(()).unwrap();
        let resp = response_from_h2(ended.into_parts().0, BodyKind::Length(0));
        assert_eq!(resp.headers()["content-length"], "0");
    }

    #[test]
    fn connection_specific_response_fields_are_dropped() {
        let h1 = b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\
                   Keep-Alive: 5\r\nUpgrade: x\r\nProxy-Connection: y\r\nX-A: 1\r\n\r\nbody";
        let (resp, at) = response_from_h1(h1).unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers().len(), 1);
        assert_eq!(resp.headers()["x-a"], "1");
        assert_eq!(&h1[at..], b"body");
    }
}
