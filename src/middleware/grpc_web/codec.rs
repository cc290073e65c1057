//! The byte-level pieces of the gRPC-Web conversion, shared by the HTTP/1.1
//! and HTTP/2 fronts: the text mode's base64 (decoded as a stream, encoded
//! piece by piece, each piece padded on its own as the wrapper flushes its
//! encoder), the trailer frame (flag `0x80`, a big-endian length, the
//! trailers as lowercase `name: value\r\n` lines sorted by name, as Go's
//! `Header.Write`), and the response head (Content-Type renamed, framing and
//! `Trailer` fields dropped, `Access-Control-Expose-Headers` listing the
//! fields plus `grpc-status, grpc-message`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Mode;

/// The first byte of a gRPC-Web frame that carries trailers.
pub const TRAILER_FLAG: u8 = 0x80;

/// A request body that is not valid base64 (text mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("grpc-web-text body is not valid base64")]
pub struct BadBase64;

/// Decodes base64 as it arrives, keeping an incomplete quantum for the next
/// piece. Line breaks are skipped (Go's decoder does); padded quanta may be
/// followed by more (the gRPC-Web spec allows concatenated padded parts).
#[derive(Debug, Default)]
pub struct Base64Decoder {
    quad: [u8; 4],
    n: usize,
}

impl Base64Decoder {
    /// Appends what `input` completes to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), BadBase64> {
        for &b in input {
            if b == b'\r' || b == b'\n' {
                continue;
            }
            self.quad[self.n] = b;
            self.n += 1;
            if self.n == 4 {
                self.n = 0;
                decode_quad(&self.quad, out)?;
            }
        }
        Ok(())
    }

    /// The body ended: an incomplete quantum is an error (Go's
    /// `io.ErrUnexpectedEOF` with padded base64).
    pub fn finish(&self) -> Result<(), BadBase64> {
        if self.n == 0 { Ok(()) } else { Err(BadBase64) }
    }
}

fn sextet(b: u8) -> Result<u32, BadBase64> {
    Ok(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return Err(BadBase64),
    } as u32)
}

fn decode_quad(q: &[u8; 4], out: &mut Vec<u8>) -> Result<(), BadBase64> {
    let keep = match (q[2], q[3]) {
        (b'=', b'=') => 1,
        (_, b'=') => 2,
        _ => 3,
    };
    let mut v = 0u32;
    for &c in &q[..keep + 1] {
        v = (v << 6) | sextet(c)?;
    }
    v <<= 6 * (3 - keep) as u32;
    out.extend_from_slice(&v.to_be_bytes()[1..1 + keep]);
    Ok(())
}

/// Appends `data` as the client gets it: as it is, or padded base64.
pub fn encode_piece(mode: Mode, data: &[u8], out: &mut Vec<u8>) {
    match mode {
        Mode::Binary => out.extend_from_slice(data),
        Mode::Text => {
            let at = out.len();
            out.resize(at + data.len().div_ceil(3) * 4, 0);
            // The size is exact, so the slice is large enough.
            let _ = STANDARD.encode_slice(data, &mut out[at..]);
        }
    }
}

/// Appends the trailer frame for `fields` (name, value), or nothing when
/// there are none (the wrapper writes no frame then).
pub fn trailer_frame<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])>, out: &mut Vec<u8>) {
    let mut sorted: Vec<(&[u8], &[u8])> = fields.collect();
    if sorted.is_empty() {
        return;
    }
    // Stable: a name's values keep their order.
    sorted.sort_by_key(|&(name, _)| name);
    let at = out.len();
    out.extend_from_slice(&[TRAILER_FLAG, 0, 0, 0, 0]);
    for (name, value) in sorted {
        out.extend(name.iter().map(u8::to_ascii_lowercase));
        out.extend_from_slice(b": ");
        // Go's `Header.Write`: line breaks become spaces, ends trimmed.
        out.extend(value.trim_ascii().iter().map(|&b| match b {
            b'\r' | b'\n' => b' ',
            b => b,
        }));
        out.extend_from_slice(b"\r\n");
    }
    let len = (out.len() - at - 5) as u32;
    out[at + 1..at + 5].copy_from_slice(&len.to_be_bytes());
}

/// Most fields of a response head rewritten here: the codec's limit on an
/// upstream head plus room for the middlewares' edits.
const MAX_FIELDS: usize = 256;

/// Fields the expose list leaves out: hop-by-hop, and the framing Go's
/// server adds when it writes (they are not in the handler's header map).
const NOT_EXPOSED: &[&[u8]] = &[b"connection", b"keep-alive", b"transfer-encoding"];

/// Rewrites an HTTP/1.1 response head (`src`, as forwarding wrote it with
/// the middlewares' edits) for a gRPC-Web client into `out`: Content-Type's
/// `application/grpc` becomes the mode's type, `Content-Length` (the body
/// grows by the trailer frame) and `Trailer` go, the exposed list is added,
/// and `Transfer-Encoding: chunked` when `chunked`. `None` when `src` is not
/// a complete head.
pub fn rewrite_head(src: &[u8], mode: Mode, chunked: bool, out: &mut Vec<u8>) -> Option<()> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut parsed = httparse::Response::new(&mut fields);
    let Ok(httparse::Status::Complete(_)) = parsed.parse(src) else {
        return None;
    };
    let line = src.iter().position(|&b| b == b'\n')? + 1;
    out.extend_from_slice(&src[..line]);
    let mut exposed: Vec<u8> = Vec::with_capacity(128);
    for f in parsed.headers.iter() {
        let name = f.name.as_bytes();
        let lower = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if lower(b"content-length") || lower(b"trailer") {
            continue;
        }
        if !NOT_EXPOSED.iter().any(|n| lower(n)) {
            add_canonical(&mut exposed, name);
        }
        if lower(b"transfer-encoding") || lower(b"access-control-expose-headers") {
            continue;
        }
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        match f.value.strip_prefix(b"application/grpc") {
            Some(rest) if lower(b"content-type") => {
                out.extend_from_slice(mode.content_type());
                out.extend_from_slice(rest);
            }
            _ => out.extend_from_slice(f.value),
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Access-Control-Expose-Headers: ");
    out.extend_from_slice(&exposed);
    out.extend_from_slice(b"grpc-status, grpc-message\r\n");
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Some(())
}

/// Adds `name` in Go's canonical form and `, ` to the list, once per name.
fn add_canonical(list: &mut Vec<u8>, name: &[u8]) {
    let at = list.len();
    let mut upper = true;
    for &b in name {
        list.push(if upper {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        });
        upper = b == b'-';
    }
    let new = &list[at..];
    let seen = list[..at]
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii() == new);
    if seen {
        list.truncate(at);
    } else {
        list.extend_from_slice(b", ");
    }
}
