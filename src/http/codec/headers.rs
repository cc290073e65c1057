//! Header classification and the framing facts shared by requests and responses:
//! one pass over httparse's headers fills the caller's `HeaderSpan` vector and
//! gathers Content-Length, Transfer-Encoding, Connection, Host, Upgrade and Expect,
//! so the request and response modules only apply their own rules to the result.

use super::{HeaderKind, HeaderSpan, ParseError, Span};

/// Most header lines a head may carry; more is answered as `TooLarge` (431).
pub const MAX_HEADERS: usize = 128;

/// Classifies a header name, ASCII case-insensitively. Dispatching on the length
/// first keeps this to at most a few comparisons per header.
#[inline]
pub fn classify(name: &[u8]) -> HeaderKind {
    use HeaderKind::*;
    let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
    match name.len() {
        2 if is(b"te") => Te,
        4 if is(b"host") => Host,
        6 if is(b"expect") => Expect,
        7 if is(b"upgrade") => Upgrade,
        7 if is(b"trailer") => Trailer,
        9 if is(b"x-real-ip") => XRealIp,
        10 if is(b"connection") => Connection,
        10 if is(b"keep-alive") => KeepAlive,
        14 if is(b"content-length") => ContentLength,
        15 if is(b"x-forwarded-for") => XForwardedFor,
        16 if is(b"proxy-connection") => ProxyConnection,
        16 if is(b"x-forwarded-host") => XForwardedHost,
        16 if is(b"x-forwarded-port") => XForwardedPort,
        17 if is(b"transfer-encoding") => TransferEncoding,
        17 if is(b"x-forwarded-proto") => XForwardedProto,
        18 if is(b"proxy-authenticate") => ProxyAuthenticate,
        18 if is(b"x-forwarded-server") => XForwardedServer,
        19 if is(b"proxy-authorization") => ProxyAuthorization,
        n if n > 12 && name[..12].eq_ignore_ascii_case(b"x-forwarded-") => XForwardedOther,
        _ => Other,
    }
}

impl HeaderKind {
    /// Hop-by-hop headers a proxy must not forward as-is (Go's `httputil` list:
    /// RFC 9110 §7.6.1 plus the legacy Keep-Alive/Proxy-* ones). Headers named by
    /// `Connection` tokens are hop-by-hop too; see [`list_tokens`]. The forwarder
    /// re-creates framing (Transfer-Encoding) and Upgrade itself where it keeps them.
    #[inline]
    pub fn is_hop_by_hop(self) -> bool {
        use HeaderKind::*;
        matches!(
            self,
            Connection
                | KeepAlive
                | ProxyConnection
                | Te
                | Trailer
                | TransferEncoding
                | Upgrade
                | ProxyAuthorization
                | ProxyAuthenticate
        )
    }
}

#[inline]
fn is_ows(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

#[inline]
fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// The non-empty elements of a comma-separated header list, OWS trimmed
/// (RFC 9110 §5.6.1: empty elements are ignored).
#[inline]
pub fn list_tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|t| !t.is_empty())
}

/// Whether a comma-separated header value contains `token` (case-insensitive),
/// e.g. `header_value_has_token(v, b"close")`.
#[inline]
pub fn header_value_has_token(value: &[u8], token: &[u8]) -> bool {
    list_tokens(value).any(|t| t.eq_ignore_ascii_case(token))
}

/// Parses a Content-Length value: 1*DIGIT, or a list of identical such values
/// (RFC 9110 §8.6 lets a recipient collapse `5, 5`). Signs, spaces inside the
/// number, empty values and overflow are refused.
pub(crate) fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    let mut result = None;
    for part in value.split(|&b| b == b',') {
        let n = parse_decimal(trim_ows(part))?;
        match result {
            Some(prev) if prev != n => {
                return Err(ParseError::Invalid("conflicting Content-Length values"));
            }
            _ => result = Some(n),
        }
    }
    result.ok_or(ParseError::Invalid("empty Content-Length"))
}

#[inline]
fn parse_decimal(digits: &[u8]) -> Result<u64, ParseError> {
    if digits.is_empty() {
        return Err(ParseError::Invalid("empty Content-Length"));
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(ParseError::Invalid("non-numeric Content-Length"));
        }
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::Invalid("Content-Length overflows"))
    })
}

/// Transfer-Encoding codings across every TE line, read as one list in order
/// (RFC 9110 §5.6.1).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TransferCodings {
    pub present: bool,
    pub chunked_count: u32,
    pub other_count: u32,
    pub last_is_chunked: bool,
    /// The first syntax fault in the list: an empty element or a coding that is
    /// not a bare token. Requests are refused for it; responses ignore empty
    /// elements as RFC 9110 §5.6.1 lets a recipient do.
    pub malformed: Option<&'static str>,
}

impl TransferCodings {
    fn add_line(&mut self, value: &[u8]) {
        self.present = true;
        if trim_ows(value).is_empty() {
            self.fault("empty Transfer-Encoding");
            return;
        }
        for element in value.split(|&b| b == b',') {
            let coding = trim_ows(element);
            if coding.is_empty() {
                self.fault("empty element in Transfer-Encoding");
                continue;
            }
            // Parameters (`chunked;q=1`), quoted strings and stray bytes are not
            // tokens; `chunked` takes no parameters, so any of them is refused.
            if !coding.iter().all(|&b| is_tchar(b)) {
                self.fault("invalid transfer-coding");
            }
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.chunked_count += u32::from(chunked);
            self.other_count += u32::from(!chunked);
            self.last_is_chunked = chunked;
        }
    }

    #[inline]
    fn fault(&mut self, why: &'static str) {
        self.malformed.get_or_insert(why);
    }
}

/// RFC 9110 §5.6.2 token characters.
#[inline]
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// What one pass over the header lines learned.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HeadFacts {
    pub content_length: Option<u64>,
    pub te: TransferCodings,
    pub host: Option<Span>,
    pub host_count: u32,
    pub conn_close: bool,
    pub conn_keep_alive: bool,
    pub conn_upgrade: bool,
    pub upgrade_header: bool,
    pub expect_continue: bool,
}

impl HeadFacts {
    fn add(&mut self, kind: HeaderKind, value: &[u8], span: Span) -> Result<(), ParseError> {
        match kind {
            HeaderKind::ContentLength => {
                let n = parse_content_length(value)?;
                if self.content_length.is_some_and(|prev| prev != n) {
                    return Err(ParseError::Invalid("conflicting Content-Length values"));
                }
                self.content_length = Some(n);
            }
            HeaderKind::TransferEncoding => self.te.add_line(value),
            HeaderKind::Host => {
                self.host = Some(span);
                self.host_count += 1;
            }
            HeaderKind::Connection => self.add_connection(value),
            HeaderKind::Upgrade => self.upgrade_header = true,
            HeaderKind::Expect => {
                self.expect_continue |= trim_ows(value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
        Ok(())
    }

    fn add_connection(&mut self, value: &[u8]) {
        for token in list_tokens(value) {
            self.conn_close |= token.eq_ignore_ascii_case(b"close");
            self.conn_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            self.conn_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
        }
    }
}

/// Offset span of `part`, which must be a subslice of `buf`.
#[inline]
pub(crate) fn span_in(buf: &[u8], part: &[u8]) -> Span {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    debug_assert!(start + part.len() <= buf.len());
    // Heads are bounded by `max_head`, far below u32::MAX.
    Span {
        start: start as u32,
        end: (start + part.len()) as u32,
    }
}

/// Clears `out`, then pushes a classified span per httparse header while
/// collecting the framing facts. `head` is the buffer httparse parsed.
pub(crate) fn collect(
    head: &[u8],
    parsed: &[httparse::Header<'_>],
    out: &mut Vec<HeaderSpan>,
) -> Result<HeadFacts, ParseError> {
    out.clear();
    let mut facts = HeadFacts::default();
    for h in parsed {
        let kind = classify(h.name.as_bytes());
        let value = span_in(head, h.value);
        facts.add(kind, h.value, value)?;
        out.push(HeaderSpan {
            name: span_in(head, h.name.as_bytes()),
            value,
            kind,
        });
    }
    Ok(facts)
}

/// Turns an httparse error into our error, naming the smuggling shape where the
/// head shows one. Only runs on the error path, so it may look at the head again.
#[cold]
pub(crate) fn map_httparse_error(err: httparse::Error, head: &[u8]) -> ParseError {
    use httparse::Error as E;
    let finder = |pat: &[u8]| memchr::memmem::find(head, pat).is_some();
    ParseError::Invalid(match err {
        E::TooManyHeaders => return ParseError::TooLarge,
        E::HeaderName if finder(b"\r\n ") || finder(b"\r\n\t") => "obsolete line folding",
        E::HeaderName if has_space_before_colon(head) => "whitespace before header colon",
        E::HeaderName => "invalid header name",
        E::HeaderValue => "invalid byte in header value",
        E::NewLine => "invalid line ending",
        E::Status => "invalid status line",
        E::Token => "invalid method or request target",
        E::Version => "unsupported HTTP version",
    })
}

fn has_space_before_colon(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n')
        .skip_while(|line| line.is_empty() || *line == b"\r")
        .skip(1)
        .any(|line| {
            let name_end = line.iter().position(|&b| b == b':' || is_ows(&b));
            name_end.is_some_and(|i| i > 0 && is_ows(&line[i]))
        })
}

#[cfg(test)]
mod tests;
