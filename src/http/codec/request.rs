//! Request heads: httparse on a complete head, then the request rules httparse
//! does not enforce: request-target forms, Host, and body framing that cannot be
//! read two ways (the request-smuggling shapes of RFC 9112 §6.1 and §6.3).

use std::mem::MaybeUninit;

use super::headers::{
    HeadFacts, MAX_HEADERS, TransferCodings, collect, map_httparse_error, span_in,
};
use super::{BodyKind, HeaderSpan, ParseError, RequestHead, Span, Version};

/// Parses `head`, which holds exactly one complete head (through its final CRLF).
pub(super) fn parse(head: &[u8], headers: &mut Vec<HeaderSpan>) -> Result<RequestHead, ParseError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    // The default config is the strict one: no obs-fold, no space before the
    // colon, single spaces in the request line. Bare LF was refused by the scan.
    match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, head, &mut slots)
    {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ParseError::Invalid("truncated head")),
        Err(e) => return Err(map_httparse_error(e, head)),
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(ParseError::Invalid("truncated head"));
    };
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let facts = collect(head, req.headers, headers)?;
    let method = method.as_bytes();
    let is_connect = method == b"CONNECT";
    let form = parse_target(method, target.as_bytes())?;
    let host = request_host(head, &facts, version, form.authority)?;
    let http11 = version == Version::Http11;
    Ok(RequestHead {
        head_len: head.len(),
        method: span_in(head, method),
        target: span_in(head, target.as_bytes()),
        path: span_in(head, form.path),
        query: form.query.map_or(Span::default(), |q| span_in(head, q)),
        version,
        host,
        body: request_body(&facts, version, is_connect)?,
        close: facts.conn_close || (!http11 && !facts.conn_keep_alive),
        // RFC 9110 §7.8 and §10.1.1: Upgrade and Expect in HTTP/1.0 are ignored.
        upgrade: http11 && facts.conn_upgrade && facts.upgrade_header,
        expect_continue: http11 && facts.expect_continue,
        is_head: method == b"HEAD",
        is_connect,
    })
}

/// The parts of a request target. `path` may be empty (authority-form, or an
/// absolute-form target with no path, which means `/`).
struct TargetForm<'a> {
    path: &'a [u8],
    query: Option<&'a [u8]>,
    authority: Option<&'a [u8]>,
}

/// Splits the target by its form (RFC 9112 §3.2) and checks the form fits the method.
fn parse_target<'a>(method: &[u8], target: &'a [u8]) -> Result<TargetForm<'a>, ParseError> {
    // A fragment is never part of a request target; a client sending one is
    // malformed, and peers disagree on where such a path ends.
    if memchr::memchr(b'#', target).is_some() {
        return Err(ParseError::Invalid("fragment in request target"));
    }
    if method == b"CONNECT" {
        validate_authority(target, true)?;
        let end = &target[target.len()..];
        return Ok(TargetForm {
            path: end,
            query: None,
            authority: Some(target),
        });
    }
    match target {
        [b'/', ..] => Ok(split_query(target, None)),
        b"*" if method == b"OPTIONS" => Ok(TargetForm {
            path: target,
            query: None,
            authority: None,
        }),
        b"*" => Err(ParseError::Invalid("asterisk-form target outside OPTIONS")),
        _ => parse_absolute(target),
    }
}

/// `http://authority/path?query` (scheme case-insensitive; http and https only).
fn parse_absolute(target: &[u8]) -> Result<TargetForm<'_>, ParseError> {
    let rest = strip_prefix_ignore_case(target, b"http://")
        .or_else(|| strip_prefix_ignore_case(target, b"https://"))
        .ok_or(ParseError::Invalid("invalid request target"))?;
    let auth_len = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let (authority, path_query) = rest.split_at(auth_len);
    if authority.contains(&b'@') {
        return Err(ParseError::Invalid("userinfo in request target"));
    }
    if authority.is_empty() {
        return Err(ParseError::Invalid("empty authority in request target"));
    }
    // It replaces Host for routing and forwarding, so it must be one.
    validate_authority(authority, false)?;
    if !is_host_port(authority) {
        return Err(ParseError::Invalid("invalid authority in request target"));
    }
    Ok(split_query(path_query, Some(authority)))
}

/// `host [":" port]` with a non-empty host (a bracketed IP literal, or a name
/// without ':') and, if the colon is there, a port from 0 to 65535. The
/// characters were checked by `validate_authority`.
fn is_host_port(authority: &[u8]) -> bool {
    let (host, rest) = match authority {
        [b'[', ..] => match memchr::memchr(b']', authority) {
            Some(end) => authority.split_at(end + 1),
            None => return false,
        },
        _ => {
            let colon = memchr::memchr(b':', authority).unwrap_or(authority.len());
            authority.split_at(colon)
        }
    };
    let port_ok = match rest {
        [] => true,
        [b':', port @ ..] => is_port(port),
        _ => false,
    };
    let inner = host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]"));
    let host_ok = match inner {
        Some(literal) => !literal.is_empty() && !literal.contains(&b'['),
        None => !host.is_empty() && !host.contains(&b'[') && !host.contains(&b']'),
    };
    host_ok && port_ok
}

#[inline]
fn split_query<'a>(path_query: &'a [u8], authority: Option<&'a [u8]>) -> TargetForm<'a> {
    match memchr::memchr(b'?', path_query) {
        Some(q) => TargetForm {
            path: &path_query[..q],
            query: Some(&path_query[q + 1..]),
            authority,
        },
        None => TargetForm {
            path: path_query,
            query: None,
            authority,
        },
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// uri-host [":" port] characters (RFC 3986: unreserved, pct-encoded, sub-delims,
/// IP-literal brackets, ':'). No '@': userinfo is refused outright.
#[inline]
fn is_authority_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
        )
}

/// Checks authority characters; CONNECT (`require_port`) needs `host:port`.
fn validate_authority(authority: &[u8], require_port: bool) -> Result<(), ParseError> {
    if !authority.iter().all(|&b| is_authority_byte(b)) {
        return Err(ParseError::Invalid("invalid authority"));
    }
    if require_port {
        let colon = memchr::memrchr(b':', authority);
        let ok = colon.is_some_and(|c| {
            let port = &authority[c + 1..];
            c > 0 && !port.is_empty() && port.len() <= 5 && port.iter().all(u8::is_ascii_digit)
        });
        if !ok {
            return Err(ParseError::Invalid("CONNECT target is not host:port"));
        }
    }
    Ok(())
}

/// The request's host: an absolute-form or CONNECT authority wins over Host
/// (RFC 9112 §3.2.2), but HTTP/1.1 still needs exactly one valid Host line.
fn request_host(
    head: &[u8],
    facts: &HeadFacts,
    version: Version,
    authority: Option<&[u8]>,
) -> Result<Span, ParseError> {
    if facts.host_count > 1 {
        return Err(ParseError::Invalid("multiple Host headers"));
    }
    if let Some(host) = facts.host {
        validate_authority(host.get(head), false)
            .map_err(|_| ParseError::Invalid("invalid Host header"))?;
    } else if version == Version::Http11 {
        return Err(ParseError::Invalid("missing Host header"));
    }
    Ok(match authority {
        Some(a) => span_in(head, a),
        None => facts.host.unwrap_or_default(),
    })
}

/// 1 to 5 digits, at most 65535.
fn is_port(digits: &[u8]) -> bool {
    (1..=5).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
        && digits
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
            <= u32::from(u16::MAX)
}

/// Request body framing (RFC 9112 §6.3); anything a peer could read differently
/// is refused rather than guessed.
fn request_body(
    facts: &HeadFacts,
    version: Version,
    is_connect: bool,
) -> Result<BodyKind, ParseError> {
    let te = facts.te;
    if te.present && facts.content_length.is_some() {
        return Err(ParseError::Invalid(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    if te.present {
        if version == Version::Http10 {
            return Err(ParseError::Invalid("Transfer-Encoding in HTTP/1.0 request"));
        }
        if is_connect {
            return Err(ParseError::Invalid("body on CONNECT request"));
        }
        return request_codings(&te);
    }
    match facts.content_length {
        // A CONNECT request has no content: the tunnel starts after the head.
        Some(0) | None if is_connect => Ok(BodyKind::None),
        Some(_) if is_connect => Err(ParseError::Invalid("body on CONNECT request")),
        Some(n) => Ok(BodyKind::Length(n)),
        None => Ok(BodyKind::None),
    }
}

/// A request's Transfer-Encoding list must be exactly `chunked`. Whatever makes
/// the length undeterminable is 400; valid codings before a final `chunked` are
/// 501 (we would have to pass them on, and do not).
fn request_codings(te: &TransferCodings) -> Result<BodyKind, ParseError> {
    if let Some(why) = te.malformed {
        return Err(ParseError::Invalid(why));
    }
    if te.chunked_count > 1 {
        return Err(ParseError::Invalid("chunked applied more than once"));
    }
    if !te.last_is_chunked {
        return Err(ParseError::Invalid(
            "chunked is not the final transfer-coding",
        ));
    }
    if te.other_count > 0 {
        return Err(ParseError::Unsupported(
            "transfer-coding other than chunked",
        ));
    }
    Ok(BodyKind::Chunked)
}

#[cfg(test)]
mod tests;
