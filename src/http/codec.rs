//! proxyd's HTTP/1.1 codec on httparse: bounded, non-rescanning head parsing into
//! offsets (no owned header maps), request-smuggling rejection, body framing, and a
//! streaming chunked decoder. It never allocates per message once warm.
//!
//! This file owns the public types; the work lives in submodules: `scan` (finding
//! the end of a head without rescanning), `headers` (classification and framing
//! rules), `request`, `response` and `chunked`.
//!
//! Policy choices callers should know:
//! - `Content-Length: 5, 5` (a list of identical values) and identical duplicate
//!   Content-Length lines are collapsed into one length (the forwarder then writes
//!   a single regenerated line); differing values and empty elements are refused.
//! - A request's Transfer-Encoding lines form one list (RFC 9110 §5.6.1), which
//!   must be exactly `chunked` (OWS trimmed, any case). Refused with `Invalid`
//!   (400): an empty element (`,chunked`), a coding that is not a token
//!   (`chunked;q=1`, a quoted string), `chunked` twice or not last, codings
//!   without `chunked`. A final `chunked` after other codings (`gzip, chunked`)
//!   is valid HTTP we do not pass through: `Unsupported` (501), as nginx does.
//!   The forwarder never copies the client's Transfer-Encoding bytes.
//! - Bare LF anywhere in a head is refused (no lenient line endings).
//! - A response with both Transfer-Encoding and Content-Length is framed by
//!   Transfer-Encoding; `ResponseHead::drop_content_length` tells the forwarder
//!   to drop the Content-Length lines.
//! - An absolute-form target with no path (`http://h`) gives an empty `path`
//!   span: treat it as `/`. A missing query is an empty span.
//! - An absolute-form target's authority replaces Host (RFC 9112 §3.2.2): it is
//!   `RequestHead::host`, so requests are routed by it and the forwarder sends it
//!   as `Host`. It must be a valid `host[:port]`; the Host line must still be
//!   present (HTTP/1.1) and valid, but its value is ignored.
//! - `Upgrade` and `Expect: 100-continue` are ignored on HTTP/1.0 requests
//!   (RFC 9110 §7.8, §10.1.1), so `upgrade`/`expect_continue` stay false there.
//! - `parse_response` does not know whether the request was CONNECT: a 2xx to a
//!   CONNECT (like a 101) starts a tunnel, which the caller decides.
//! - Request targets are checked by httparse (visible ASCII or UTF-8, no
//!   controls or spaces) plus form rules here; a `#` fragment is refused.

mod chunked;
#[cfg(test)]
mod fuzz_tests;
mod headers;
mod request;
mod response;
mod scan;

pub use headers::{MAX_HEADERS, classify, header_value_has_token, list_tokens};

/// A byte range into the buffer the head was parsed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    #[inline]
    pub fn get<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.start as usize..self.end as usize]
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Headers the proxy acts on, classified once at parse time so the forwarding code
/// never compares names again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    Te,
    Trailer,
    Upgrade,
    Expect,
    ProxyAuthorization,
    ProxyAuthenticate,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    XForwardedPort,
    XForwardedServer,
    /// Any other `X-Forwarded-*` (Prefix, Uri, Method, Tls-*...).
    XForwardedOther,
    XRealIp,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct HeaderSpan {
    pub name: Span,
    pub value: Span,
    pub kind: HeaderKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    /// As the request line writes it (`HTTP/1.1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Length(u64),
    Chunked,
    /// Response only: body runs until the upstream closes.
    UntilClose,
}

/// Why a head was refused. Maps to a status in `http::error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Head larger than the configured limit (431 for requests, 502 for responses).
    #[error("header section too large")]
    TooLarge,
    /// Malformed or smuggling-shaped message (400 for requests, 502 for responses).
    #[error("malformed message: {0}")]
    Invalid(&'static str),
    /// Valid HTTP that proxyd does not implement (501 for requests).
    #[error("not implemented: {0}")]
    Unsupported(&'static str),
}

/// A parsed request head. Spans point into the buffer given to `parse_request`.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Bytes of the head including the terminating empty line.
    pub head_len: usize,
    pub method: Span,
    /// Request target as sent (origin-form path+query, absolute-form, or authority).
    pub target: Span,
    /// Path part of the target (for absolute-form, the path after the authority; "*" for OPTIONS *).
    pub path: Span,
    /// Query without '?', empty span if none.
    pub query: Span,
    pub version: Version,
    /// Host header value, or the authority of an absolute-form target (which wins).
    pub host: Span,
    pub body: BodyKind,
    /// Client asked to close (HTTP/1.1 `Connection: close`, or HTTP/1.0 without keep-alive).
    pub close: bool,
    /// `Connection: upgrade` with an `Upgrade` header present.
    pub upgrade: bool,
    /// `Expect: 100-continue` present.
    pub expect_continue: bool,
    /// Method is HEAD (response has no body).
    pub is_head: bool,
    /// Method is CONNECT.
    pub is_connect: bool,
}

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub head_len: usize,
    pub status: u16,
    /// Reason phrase span (may be empty).
    pub reason: Span,
    pub version: Version,
    pub body: BodyKind,
    /// Upstream said `Connection: close` (or HTTP/1.0 without keep-alive).
    pub close: bool,
    /// The response carried Transfer-Encoding, so any Content-Length lines must be
    /// dropped when forwarding (RFC 9112 §6.3: Transfer-Encoding overrides them).
    pub drop_content_length: bool,
}

/// Incremental request-head parser. Holds the scan position so bytes already
/// scanned for the end of the head are not scanned again after a short read.
///
/// The position is forgotten automatically when a call returns a head or an
/// error; `reset` is only needed when a caller abandons a partial head.
#[derive(Debug, Default)]
pub struct HeadParser {
    scan: scan::HeadScan,
}

impl HeadParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget the scan position (call after a message is consumed from the buffer).
    #[inline]
    pub fn reset(&mut self) {
        self.scan = scan::HeadScan::default();
    }

    /// Parses a request head from `buf` (which starts at the head). `Ok(None)` means
    /// incomplete: read more and call again with the same, grown buffer.
    /// `headers` is cleared and refilled (reused across requests: no allocation once warm).
    pub fn parse_request(
        &mut self,
        buf: &[u8],
        max_head: usize,
        headers: &mut Vec<HeaderSpan>,
    ) -> Result<Option<RequestHead>, ParseError> {
        let Some(head_len) = self.find_head(buf, max_head)? else {
            return Ok(None);
        };
        request::parse(&buf[..head_len], headers).map(Some)
    }

    /// Same for a response to a request whose method was HEAD when `head_request`.
    pub fn parse_response(
        &mut self,
        buf: &[u8],
        max_head: usize,
        head_request: bool,
        headers: &mut Vec<HeaderSpan>,
    ) -> Result<Option<ResponseHead>, ParseError> {
        let Some(head_len) = self.find_head(buf, max_head)? else {
            return Ok(None);
        };
        response::parse(&buf[..head_len], head_request, headers).map(Some)
    }

    /// Length of the complete head in `buf`, resetting the scan state once the
    /// outcome is final so the next message starts fresh.
    #[inline]
    fn find_head(&mut self, buf: &[u8], max_head: usize) -> Result<Option<usize>, ParseError> {
        let found = self.scan.find_end(buf, max_head);
        if !matches!(found, Ok(None)) {
            self.reset();
        }
        found
    }
}

/// Outcome of feeding bytes to the chunked decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Bytes of the input consumed (all of it unless `done`).
    pub consumed: usize,
    /// The terminating chunk and trailers have been seen; bytes after `consumed`
    /// belong to the next message.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid chunked encoding: {0}")]
pub struct ChunkError(pub &'static str);

pub use chunked::{ChunkedDecoder, MAX_CHUNK_LINE, MAX_TRAILERS};
