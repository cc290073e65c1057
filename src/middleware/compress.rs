//! `compress`: Traefik's response compression. The request phase negotiates
//! the encoding from Accept-Encoding (q-values, the configured order breaking
//! ties, `*` meaning `defaultEncoding` or the first encoding), adds
//! `Vary: Accept-Encoding` and records the choice in [`Edits`]; the response
//! side (`http/server/compressed.rs`) decides from the response head whether
//! to compress ([`Compress::response_allows`]) and streams the body through an
//! [`Encoder`] taken from the worker's [`EncoderPool`], flushing after every
//! piece read from the upstream so a streamed response (server-sent events)
//! is not held back.

use std::sync::Arc;

use super::{Edits, Flow, HeaderOp, RequestInfo};

mod encoder;
pub mod media;
mod pool;

pub use encoder::{DEFAULT_BROTLI_QUALITY, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, Encoder};
pub use media::MediaType;
pub use pool::{DEFAULT_POOLED_GZIP, DEFAULT_POOLED_ZSTD, EncoderPool, Pooled};

/// Traefik's (and klauspost's gzhttp) default `minResponseBodyBytes`.
pub const DEFAULT_MIN_RESPONSE_BODY_BYTES: u64 = 1024;
/// Traefik v3's default `encodings`, in priority order.
pub const DEFAULT_ENCODINGS: [Encoding; 3] = [Encoding::Gzip, Encoding::Br, Encoding::Zstd];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Br,
    Zstd,
}

impl Encoding {
    /// The Content-Encoding token (and the name in the configuration).
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
        }
    }

    pub fn from_token(t: &str) -> Option<Encoding> {
        DEFAULT_ENCODINGS.into_iter().find(|e| e.token() == t)
    }
}

#[derive(Debug)]
pub struct Compress {
    /// `application/grpc` first, then `excludedContentTypes`.
    pub excludes: Vec<MediaType>,
    pub includes: Vec<MediaType>,
    pub min_size: u64,
    /// In priority order (non-empty).
    pub encodings: Vec<Encoding>,
    pub default_encoding: Option<Encoding>,
}

/// What the request phase chose: the middleware (for its response rules) and
/// the encoding.
pub type Chosen = (Arc<Compress>, Encoding);

/// The request phase (a free function: the choice keeps the `Arc`).
pub fn apply(m: &Arc<Compress>, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
    if req.method == b"HEAD" || edits.compression().is_some() {
        return Flow::Next;
    }
    let mut excluded = false;
    req.headers.any_value("content-type", &mut |v| {
        // Traefik compares the request's media type alone, parameters dropped.
        excluded = media::essence(v).is_some_and(|e| {
            m.excludes
                .iter()
                .any(|x| x.essence.as_bytes().eq_ignore_ascii_case(e))
        });
        true
    });
    if excluded {
        return Flow::Next;
    }
    let Some(encoding) = m.negotiate(req) else {
        return Flow::Next;
    };
    edits.response_header(HeaderOp::Add, b"Vary", b"Accept-Encoding");
    edits.set_compression((Arc::clone(m), encoding));
    Flow::Next
}

/// An Accept-Encoding item's place in Traefik's ordering.
#[derive(Clone, Copy, PartialEq)]
enum Item {
    Wildcard,
    Known(Encoding),
    Identity,
}

impl Compress {
    /// Traefik's choice for the request's Accept-Encoding fields; `None` when
    /// the response goes out as it is.
    fn negotiate(&self, req: &RequestInfo<'_>) -> Option<Encoding> {
        let (mut fields, mut only_empty) = (0, true);
        // (weight, priority, item) of the best item so far.
        let mut best: Option<(f64, i64, Item)> = None;
        req.headers.any_value("accept-encoding", &mut |v| {
            fields += 1;
            only_empty &= v.is_empty();
            for item in v.split(|&b| b == b',') {
                if let Some(c) = self.candidate(item)
                    && best.is_none_or(|(w, p, _)| c.0 > w || (c.0 == w && c.1 < p))
                {
                    best = Some(c);
                }
            }
            false
        });
        if fields == 0 {
            // No Accept-Encoding: any coding is acceptable, but Traefik
            // compresses only when told which (traefik/traefik#9734).
            return self.default_encoding;
        }
        if fields == 1 && only_empty {
            return None;
        }
        match best?.2 {
            Item::Wildcard => Some(self.default_encoding.unwrap_or(self.encodings[0])),
            Item::Known(e) => Some(e),
            Item::Identity => None,
        }
    }

    /// One `name;q=w` item, spaces ignored as Traefik removes them: its weight,
    /// priority and kind, or `None` when it is not one Traefik considers or its
    /// weight is 0 (or does not parse, which Go reads as 0).
    fn candidate(&self, item: &[u8]) -> Option<(f64, i64, Item)> {
        let mut text = [0u8; 64];
        let mut n = 0;
        for &b in item.iter().filter(|&&b| b != b' ') {
            *text.get_mut(n)? = b;
            n += 1;
        }
        let text = std::str::from_utf8(&text[..n]).ok()?;
        let (name, param) = match text.split_once(';') {
            Some((n, p)) => (n, Some(p)),
            None => (text, None),
        };
        let (item, priority) = match name {
            "*" => (Item::Wildcard, -1),
            "identity" => (Item::Identity, self.encodings.len() as i64),
            _ => {
                let e = Encoding::from_token(name)?;
                let i = self.encodings.iter().position(|&x| x == e)?;
                (Item::Known(e), i as i64)
            }
        };
        let weight = match param.and_then(|p| p.strip_prefix("q=")) {
            Some(q) => q.parse::<f64>().unwrap_or(0.0),
            None => 1.0,
        };
        (weight != 0.0).then_some((weight, priority, item))
    }

    /// Whether a response may be compressed, from its head: a body-carrying
    /// status, not a range, not encoded already, and a Content-Type the
    /// include/exclude lists allow (one that does not parse is left alone, as
    /// Traefik does). The size is checked apart.
    pub fn response_allows(
        &self,
        status: u16,
        content_type: Option<&[u8]>,
        encoded: bool,
        range: bool,
    ) -> bool {
        if matches!(status, 100..=199 | 204 | 206 | 304) || encoded || range {
            return false;
        }
        let Some(ct) = content_type else {
            return true;
        };
        let hit = |list: &[MediaType]| -> Option<bool> {
            let mut any = false;
            for t in list {
                any |= t.matches(ct)?;
            }
            Some(any)
        };
        let Some(excluded) = hit(&self.excludes) else {
            return false;
        };
        let included = self.includes.is_empty() || hit(&self.includes) == Some(true);
        included && !excluded
    }
}

#[cfg(test)]
#[path = "compress/tests.rs"]
mod tests;
