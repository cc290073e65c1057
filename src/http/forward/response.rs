//! The client response head: the upstream's status and headers copied with
//! targeted edits (hop-by-hop and `Connection`-named headers dropped, one
//! regenerated framing line, the middlewares' response edits, a guessed
//! `Content-Type`) and the connection's own `Connection` line.

use super::hop::{connection_tokens, is_named};
use super::{put, sniff, write_framing};
use crate::http::codec::{BodyKind, HeaderKind, HeaderSpan, ResponseHead};
use crate::middleware::{Edits, HeaderOp, drops, write_appended};

/// How the client response is framed, decided by the caller.
pub struct ResponseFraming {
    /// Strip chunked framing (HTTP/1.0 client).
    pub dechunk: bool,
    /// The connection ends after this response.
    pub close: bool,
    /// HTTP/1.0 client that asked for keep-alive and gets it.
    pub keep_alive_10: bool,
}

/// Writes the client response head into `out` (appending), with the response
/// header edits of the router's middlewares when there are any.
pub fn write_response_head(
    out: &mut Vec<u8>,
    buf: &[u8],
    resp: &ResponseHead,
    headers: &[HeaderSpan],
    framing: &ResponseFraming,
    edits: Option<&Edits>,
) {
    let edits = edits.filter(|e| !e.is_empty());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&status_digits(resp.status));
    out.push(b' ');
    out.extend_from_slice(resp.reason.get(buf));
    out.extend_from_slice(b"\r\n");
    let named = connection_tokens(buf, headers);
    let switching = resp.status == 101;
    let mut length_written = false;
    for h in headers {
        use HeaderKind::*;
        let keep = match h.kind {
            Connection => false,
            Upgrade => switching,
            KeepAlive | ProxyConnection | Te => false,
            TransferEncoding | Trailer => !framing.dechunk,
            // RFC 9112 §6.2: never both; Transfer-Encoding frames the body.
            ContentLength if resp.drop_content_length => false,
            // A framing length goes out as one regenerated line: duplicates or a
            // list (`5, 5`) the codec accepted would let the client frame it
            // differently. A length that frames nothing (HEAD, 304) passes as is.
            ContentLength => match resp.body {
                BodyKind::Length(n) => {
                    if !length_written {
                        write_framing(out, BodyKind::Length(n));
                        length_written = true;
                    }
                    false
                }
                _ => true,
            },
            Other => !is_named(h.name.get(buf), buf, &named),
            _ => true,
        };
        let keep = keep && !edits.is_some_and(|e| drops(e.response_edits(), h.name.get(buf)));
        if keep {
            put(out, h.name.get(buf), h.value.get(buf));
        }
    }
    for (op, name, value) in edits.iter().flat_map(|e| e.response_edits()) {
        match op {
            HeaderOp::Remove => {}
            HeaderOp::Append => {
                let first = headers
                    .iter()
                    .find(|h| h.name.get(buf).eq_ignore_ascii_case(name));
                write_appended(out, name, first.map(|h| h.value.get(buf)), value);
            }
            _ => put(out, name, value),
        }
    }
    if let Some(guess) = edits.and_then(|e| sniff::guessed(buf, resp, headers, e)) {
        put(out, b"Content-Type", guess.as_bytes());
    }
    if switching {
        out.extend_from_slice(b"Connection: Upgrade\r\n");
    } else if framing.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if framing.keep_alive_10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// A status code's three digits (the codec only accepts 100–599).
pub(super) fn status_digits(status: u16) -> [u8; 3] {
    [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]
}
