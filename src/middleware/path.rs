//! Path middlewares as Traefik v3 defines them: addPrefix, stripPrefix,
//! stripPrefixRegex, replacePath, replacePathRegex.
//!
//! proxyd forwards the path as received (percent-encoded). Traefik matches
//! prefixes and regexes against the decoded path, so matching here decodes
//! where it must, and the bytes cut from the raw path are the ones that decode
//! to the matched prefix. Like Traefik, a strip or regex replacement that
//! leaves `.`/`..` segments or `//` behind answers 400 rather than forward a
//! path the upstream would resolve differently; `X-Forwarded-Prefix` and
//! `X-Replaced-Path` are added as Traefik adds them.

use regex::bytes::Regex;

use super::{Edits, Flow, HeaderOp, RequestInfo};

const FORWARDED_PREFIX: &[u8] = b"X-Forwarded-Prefix";
const REPLACED_PATH: &[u8] = b"X-Replaced-Path";

/// `addPrefix`: prepends `prefix` to the path.
#[derive(Debug)]
pub struct AddPrefix {
    pub prefix: String,
}

impl AddPrefix {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let prefix = self.prefix.as_bytes();
        edits.rewrite_path(req.path, |cur, out| {
            if !prefix.starts_with(b"/") {
                out.push(b'/');
            }
            out.extend_from_slice(prefix);
            out.extend_from_slice(cur);
        });
        Flow::Next
    }
}

/// `stripPrefix`: removes the first listed prefix the (decoded) path starts
/// with. A plain byte prefix, as in Traefik: `/api` also strips `/apiv2` to `/v2`.
#[derive(Debug)]
pub struct StripPrefix {
    pub prefixes: Vec<String>,
}

impl StripPrefix {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let path = edits.path(req.path);
        let Some((prefix, raw_len)) = self
            .prefixes
            .iter()
            .find_map(|p| decoded_prefix_len(path, p.as_bytes()).map(|n| (p, n)))
        else {
            return Flow::Next;
        };
        strip(req, edits, raw_len, prefix.as_bytes())
    }
}

/// `stripPrefixRegex`: strips the first match of the first regex that matches
/// at the start of the decoded path.
#[derive(Debug)]
pub struct StripPrefixRegex {
    pub regex: Vec<Regex>,
}

impl StripPrefixRegex {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let path = edits.path(req.path);
        let decoded = decode(path);
        for re in &self.regex {
            let Some(m) = re.find(&decoded) else { continue };
            // Traefik takes the leftmost match and strips it only if the path
            // starts with it.
            let prefix = m.as_bytes();
            if prefix.is_empty() || !decoded.starts_with(prefix) {
                continue;
            }
            let prefix = prefix.to_vec();
            let raw_len = decoded_prefix_len(path, &prefix).unwrap_or(prefix.len());
            return strip(req, edits, raw_len, &prefix);
        }
        Flow::Next
    }
}

/// `replacePath`: the path becomes `path`; the old one goes in `X-Replaced-Path`.
#[derive(Debug)]
pub struct ReplacePath {
    pub path: String,
}

impl ReplacePath {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        edits.request_header_with_path(HeaderOp::Add, REPLACED_PATH, req.path);
        let new = self.path.as_bytes();
        edits.rewrite_path(req.path, |_, out| out.extend_from_slice(new));
        Flow::Next
    }
}

/// `replacePathRegex`: when `regex` matches the (raw) path, every match is
/// replaced by `replacement` (`$1`, `${name}` expand as in Traefik).
#[derive(Debug)]
pub struct ReplacePathRegex {
    pub regex: Regex,
    pub replacement: String,
}

impl ReplacePathRegex {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let current = edits.path(req.path);
        if !self.regex.is_match(current) {
            return Flow::Next;
        }
        let replaced = self
            .regex
            .replace_all(current, self.replacement.as_bytes())
            .into_owned();
        edits.request_header_with_path(HeaderOp::Add, REPLACED_PATH, req.path);
        if percent_invalid(&replaced) {
            edits.answer(500, b"Internal Server Error\n");
            return Flow::Answer;
        }
        if !is_clean(&decode(&replaced)) {
            edits.answer(400, b"Bad Request\n");
            return Flow::Answer;
        }
        edits.rewrite_path(req.path, |_, out| out.extend_from_slice(&replaced));
        Flow::Next
    }
}

/// Cuts `raw_len` bytes off the front of the current path, records the prefix
/// and checks what is left (in place: no allocation unless it must decode).
fn strip(req: &RequestInfo<'_>, edits: &mut Edits, raw_len: usize, prefix: &[u8]) -> Flow {
    edits.request_header(HeaderOp::Add, FORWARDED_PREFIX, prefix);
    edits.rewrite_path(req.path, |cur, out| {
        let rest = &cur[raw_len..];
        if !rest.is_empty() && rest[0] != b'/' {
            out.push(b'/');
        }
        out.extend_from_slice(rest);
    });
    match edits.rewritten_path() {
        Some(p) if !p.is_empty() && !is_clean(&decode(p)) => {
            edits.answer(400, b"Bad Request\n");
            Flow::Answer
        }
        _ => Flow::Next,
    }
}

/// How many raw bytes of `path` decode to `prefix`, if the decoded path starts
/// with it (each `%XX` is one decoded byte).
pub fn decoded_prefix_len(path: &[u8], prefix: &[u8]) -> Option<usize> {
    let mut i = 0;
    for &want in prefix {
        let (byte, used) = decoded_at(path, i)?;
        if byte != want {
            return None;
        }
        i += used;
    }
    Some(i)
}

/// The decoded byte at `i` and how many raw bytes it took.
fn decoded_at(path: &[u8], i: usize) -> Option<(u8, usize)> {
    let b = *path.get(i)?;
    if b == b'%'
        && let (Some(h), Some(l)) = (path.get(i + 1).and_then(hex), path.get(i + 2).and_then(hex))
    {
        return Some((h << 4 | l, 3));
    }
    Some((b, 1))
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

/// The percent-decoded path (borrowed when there is nothing to decode).
pub fn decode(path: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !path.contains(&b'%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while let Some((b, used)) = decoded_at(path, i) {
        out.push(b);
        i += used;
    }
    std::borrow::Cow::Owned(out)
}

/// A `%` not followed by two hex digits (Go's `PathUnescape` refuses it).
fn percent_invalid(path: &[u8]) -> bool {
    path.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(path.get(i + 1).is_some_and(|c| hex(c).is_some())
                && path.get(i + 2).is_some_and(|c| hex(c).is_some()))
    })
}

/// Whether cleaning the path (as Go's `URL.JoinPath` does: `//`, `.` and `..`
/// segments) leaves it unchanged.
pub fn is_clean(path: &[u8]) -> bool {
    if path.windows(2).any(|w| w == b"//") {
        return false;
    }
    !path
        .split(|&b| b == b'/')
        .any(|seg| seg == b"." || seg == b"..")
}

#[cfg(test)]
mod tests;
