//! The HTTP/1.1 side of `contentType`: whether a proxied response head gets a
//! guessed `Content-Type`, and from which bytes. Go's server guesses when the
//! handler set no `Content-Type` and no non-empty `Content-Encoding`, the
//! status allows a body, and the first body write is not empty; it looks at
//! that write's first 512 bytes. Here the first write is the body bytes that
//! arrived with the head (de-chunked): a body whose first bytes come later gets
//! no guess, as a Go handler's empty first write would not.

use crate::http::codec::{BodyKind, HeaderSpan, ResponseHead};
use crate::middleware::content_type::sniff::{SNIFF_LEN, detect};
use crate::middleware::{Edits, HeaderOp};

/// The guessed type for this response head, if `edits` asked for one and Go
/// would guess. `buf` holds the head and whatever body bytes followed it.
pub fn guessed(
    buf: &[u8],
    resp: &ResponseHead,
    headers: &[HeaderSpan],
    edits: &Edits,
) -> Option<&'static str> {
    let bodiless = resp.status < 200 || resp.status == 204 || resp.status == 304;
    if !edits.detects_content_type() || bodiless {
        return None;
    }
    if field(buf, headers, edits, b"content-type").is_some()
        || field(buf, headers, edits, b"content-encoding").is_some_and(|v| !v.is_empty())
    {
        return None;
    }
    let body = buf.get(resp.head_len..).unwrap_or_default();
    let mut decoded = [0u8; SNIFF_LEN];
    let first: &[u8] = match resp.body {
        BodyKind::None => return None,
        BodyKind::Length(n) => &body[..body.len().min(usize::try_from(n).unwrap_or(usize::MAX))],
        BodyKind::UntilClose => body,
        BodyKind::Chunked => {
            let n = dechunk(body, &mut decoded);
            &decoded[..n]
        }
    };
    (!first.is_empty()).then(|| detect(first))
}

/// The value the client will see first for `name` (lowercase): an edit's
/// (the response edits are applied after the upstream's fields), or the
/// upstream's when no edit drops it.
fn field<'a>(
    buf: &'a [u8],
    headers: &[HeaderSpan],
    edits: &'a Edits,
    name: &[u8],
) -> Option<&'a [u8]> {
    let mut dropped = false;
    let mut edited = None;
    for (op, n, v) in edits.response_edits() {
        if n.eq_ignore_ascii_case(name) {
            dropped |= op != HeaderOp::Add;
            if op != HeaderOp::Remove && edited.is_none() {
                edited = Some(v);
            }
        }
    }
    let upstream = (!dropped)
        .then(|| {
            headers
                .iter()
                .find(|h| h.name.get(buf).eq_ignore_ascii_case(name))
        })
        .flatten()
        .map(|h| h.value.get(buf));
    upstream.or(edited)
}

/// Copies the data of the complete chunks at the start of `body` into `out`
/// (as much as fits); stops at the last chunk or at bytes not yet read.
fn dechunk(mut body: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    while n < out.len() {
        let Some(line_end) = memchr::memmem::find(body, b"\r\n") else {
            break;
        };
        let digits = body[..line_end]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let size = std::str::from_utf8(&body[..digits])
            .ok()
            .and_then(|s| usize::from_str_radix(s, 16).ok());
        let Some(size) = size.filter(|&s| s > 0) else {
            break;
        };
        let data = &body[line_end + 2..];
        let take = size.min(data.len()).min(out.len() - n);
        out[n..n + take].copy_from_slice(&data[..take]);
        n += take;
        if data.len() < size + 2 {
            break;
        }
        body = &data[size + 2..];
    }
    n
}

#[cfg(test)]
mod tests {
    use super::dechunk;

    #[test]
    fn dechunks_what_arrived() {
        let mut out = [0u8; 512];
        let n = dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", &mut out);
        assert_eq!(&out[..n], b"abcde");
        let n = dechunk(b"5\r\nab", &mut out);
        assert_eq!(&out[..n], b"ab", "a partial chunk counts");
        let n = dechunk(b"zz\r\nab", &mut out);
        assert_eq!(n, 0);
        let mut small = [0u8; 4];
        assert_eq!(dechunk(b"6\r\nabcdef\r\n", &mut small), 4);
    }
}
