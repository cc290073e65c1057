//! The header names a message's `Connection` lists (other than its
//! keep-alive/close/upgrade options): hop-by-hop for that message, so neither
//! rewrite passes them on.

use crate::http::codec::{HeaderKind, HeaderSpan, Span};

/// Most `Connection` tokens naming extra hop-by-hop headers we honour per message.
const MAX_CONNECTION_TOKENS: usize = 16;

/// Header names listed in `Connection` (other than the keep-alive/close/upgrade
/// options), which are hop-by-hop for this message.
pub(super) struct Named {
    spans: [Span; MAX_CONNECTION_TOKENS],
    len: usize,
}

pub(super) fn connection_tokens(buf: &[u8], headers: &[HeaderSpan]) -> Named {
    let mut named = Named {
        spans: [Span::default(); MAX_CONNECTION_TOKENS],
        len: 0,
    };
    for h in headers.iter().filter(|h| h.kind == HeaderKind::Connection) {
        let base = h.value.start as usize;
        for (off, token) in tokens(h.value.get(buf)) {
            let plain = [&b"close"[..], b"keep-alive", b"upgrade"]
                .iter()
                .any(|t| token.eq_ignore_ascii_case(t));
            if !plain && named.len < MAX_CONNECTION_TOKENS {
                let start = (base + off) as u32;
                named.spans[named.len] = Span {
                    start,
                    end: start + token.len() as u32,
                };
                named.len += 1;
            }
        }
    }
    named
}

pub(super) fn is_named(name: &[u8], buf: &[u8], named: &Named) -> bool {
    named.spans[..named.len]
        .iter()
        .any(|s| s.get(buf).eq_ignore_ascii_case(name))
}

/// Comma-separated tokens of a header value with their offsets, whitespace trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut offset = 0;
    value.split(|&b| b == b',').filter_map(move |part| {
        let start = offset;
        offset += part.len() + 1;
        let lead = part.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let trimmed = part[lead..].trim_ascii_end();
        (!trimmed.is_empty()).then_some((start + lead, trimmed))
    })
}
