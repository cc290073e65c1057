//! Response heads: httparse on a complete head, then response framing per
//! RFC 9112 §6.3 (HEAD/1xx/204/304 have no body, Transfer-Encoding beats
//! Content-Length, otherwise read until close). Errors here become 502.

use std::mem::MaybeUninit;

use super::headers::{HeadFacts, MAX_HEADERS, collect, map_httparse_error};
use super::{BodyKind, HeaderSpan, ParseError, ResponseHead, Span, Version};

/// `HTTP/1.x NNN` — the status line prefix httparse's strict config accepts.
const STATUS_PREFIX_LEN: usize = 12;

/// Parses `head`, which holds exactly one complete head (through its final CRLF).
pub(super) fn parse(
    head: &[u8],
    head_request: bool,
    headers: &mut Vec<HeaderSpan>,
) -> Result<ResponseHead, ParseError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    // Default config: strict (no obs-fold, no space before colon, single spaces).
    match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, head, &mut slots)
    {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ParseError::Invalid("truncated head")),
        Err(e) => return Err(map_httparse_error(e, head)),
    }
    let (Some(minor), Some(status)) = (res.version, res.code) else {
        return Err(ParseError::Invalid("truncated head"));
    };
    if !(100..=599).contains(&status) {
        return Err(ParseError::Invalid("status code out of range"));
    }
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let facts = collect(head, res.headers, headers)?;
    let body = response_body(&facts, version, status, head_request)?;
    Ok(ResponseHead {
        head_len: head.len(),
        status,
        reason: reason_span(head),
        version,
        body,
        close: facts.conn_close || (version == Version::Http10 && !facts.conn_keep_alive),
        drop_content_length: facts.te.present,
    })
}

/// The reason phrase, located from the status line itself: httparse hands back
/// `""` (not a slice of the buffer) when the phrase has obs-text.
fn reason_span(head: &[u8]) -> Span {
    // Skip the empty lines the scanner allowed before the status line.
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line_end = memchr::memchr(b'\r', &head[start..]).map_or(head.len(), |i| start + i);
    // "HTTP/1.1 200" alone has no reason; otherwise one SP separates it.
    let reason_start = (start + STATUS_PREFIX_LEN + 1).min(line_end);
    Span {
        start: reason_start as u32,
        end: line_end as u32,
    }
}

/// Response body framing, RFC 9112 §6.3 in order.
fn response_body(
    facts: &HeadFacts,
    version: Version,
    status: u16,
    head_request: bool,
) -> Result<BodyKind, ParseError> {
    let te = facts.te;
    if te.present && version == Version::Http10 {
        // §6.1: TE in an HTTP/1.0 message means its framing is faulty.
        return Err(ParseError::Invalid(
            "Transfer-Encoding in HTTP/1.0 response",
        ));
    }
    if te.chunked_count > 1 {
        return Err(ParseError::Invalid("chunked applied more than once"));
    }
    // Even without a body, a mangled Content-Length was refused by `collect`:
    // an upstream that sends one is not to be trusted with the connection.
    if head_request || status < 200 || status == 204 || status == 304 {
        return Ok(BodyKind::None);
    }
    if te.present {
        // Chunked last: chunked. Any other final coding: the body ends at close.
        return Ok(if te.last_is_chunked {
            BodyKind::Chunked
        } else {
            BodyKind::UntilClose
        });
    }
    Ok(facts
        .content_length
        .map_or(BodyKind::UntilClose, BodyKind::Length))
}

#[cfg(test)]
mod tests;
