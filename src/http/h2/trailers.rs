//! Trailers between an HTTP/2 stream and an HTTP/1.1 chunked body: an
//! HTTP/1.1 upstream's trailer section becomes the HEADERS frame that ends
//! the client's stream, and an HTTP/2 client's request trailers become the
//! trailer section of the chunked body sent to an HTTP/1.1 upstream. Fields
//! that may not be trailers are dropped on the way, as Go's `http2` package
//! (so Traefik) drops them (`httpguts.ValidTrailerHeader`).

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

/// Fields never passed on as trailers (Go's list: framing, routing,
/// authentication, caching and content metadata).
const NOT_TRAILERS: &[&str] = &[
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-range",
    "content-type",
    "expect",
    "host",
    "keep-alive",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "range",
    "realm",
    "te",
    "trailer",
    "transfer-encoding",
    "www-authenticate",
];

fn allowed(name: &HeaderName) -> bool {
    !NOT_TRAILERS.contains(&name.as_str())
}

/// The trailer field lines of a chunked body (`name: value\r\n` each, as the
/// codec kept them) as trailers for HTTP/2; `None` when none is left.
pub fn from_h1(lines: &[u8]) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for line in lines.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        if allowed(&name) {
            map.append(name, value);
        }
    }
    (!map.is_empty()).then_some(map)
}

/// Appends `trailers` as the field lines of a chunked trailer section.
pub fn write_h1(out: &mut Vec<u8>, trailers: &HeaderMap) {
    for (name, value) in trailers.iter().filter(|(n, _)| allowed(n)) {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_trailer_lines_become_fields_less_the_forbidden_ones() {
        let map = from_h1(b"Grpc-Status: 0\r\nContent-Length: 5\r\nX-Sum:  abc \r\n").unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map["grpc-status"], "0");
        assert_eq!(map["x-sum"], "abc");
        assert!(from_h1(b"").is_none());
        assert!(from_h1(b"Host: x\r\n").is_none());
        let mut out = Vec::new();
        write_h1(&mut out, &map);
        assert_eq!(out, b"grpc-status: 0\r\nx-sum: abc\r\n");
    }
}
