//! Errors on the request path: where each comes from, whether a retry is safe, and the
//! one function that maps an error to the status the client sees (docs/architecture.md §7).

use std::io;
use std::net::SocketAddr;

use crate::http::codec::{ChunkError, ParseError};

/// Who caused a failure: decides the status and whether an upstream is blamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    Client,
    Upstream,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("malformed request: {0}")]
    BadRequest(&'static str),
    #[error("request header section larger than maxHeaderBytes")]
    HeadersTooLarge,
    #[error("request not received within readTimeout")]
    RequestTimeout,
    #[error("invalid request body: {0}")]
    BadBody(ChunkError),
    #[error("no router matches the request")]
    NoRoute,
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    #[error("client closed the connection before the response")]
    ClientClosed,
    #[error("client i/o: {0}")]
    ClientIo(io::Error),
    #[error("no available server")]
    NoServer,
    #[error("upstream connect failed: {0}")]
    Connect(io::Error),
    #[error("upstream connect timed out")]
    ConnectTimeout,
    #[error("upstream closed the connection before a response")]
    UpstreamClosed,
    /// Failed before any response byte: on a pooled connection, likely stale.
    #[error("upstream reset the connection before a response: {0}")]
    UpstreamReset(io::Error),
    #[error("upstream i/o: {0}")]
    UpstreamIo(io::Error),
    #[error("invalid upstream response: {0}")]
    UpstreamInvalid(ParseError),
    #[error("invalid upstream body: {0}")]
    UpstreamBadBody(ChunkError),
    #[error("no upstream response within responseHeaderTimeout")]
    UpstreamTimeout,
    #[error("upstream {0} sent nothing for readTimeout")]
    UpstreamReadTimeout(SocketAddr),
    #[error("upstream {0} took no request bytes for writeTimeout")]
    UpstreamWriteTimeout(SocketAddr),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl ProxyError {
    pub fn source(&self) -> ErrorSource {
        use ProxyError::*;
        match self {
            BadRequest(_) | HeadersTooLarge | RequestTimeout | BadBody(_) | NoRoute
            | NotImplemented(_) | ClientClosed | ClientIo(_) => ErrorSource::Client,
            NoServer | Internal(_) => ErrorSource::Internal,
            Connect(_)
            | ConnectTimeout
            | UpstreamClosed
            | UpstreamReset(_)
            | UpstreamIo(_)
            | UpstreamInvalid(_)
            | UpstreamBadBody(_)
            | UpstreamTimeout
            | UpstreamReadTimeout(_)
            | UpstreamWriteTimeout(_) => ErrorSource::Upstream,
        }
    }

    /// Whether sending the request again on a fresh connection is safe, given that the
    /// request itself is idempotent and was not partly consumed. Only failures that
    /// prove the upstream never saw the request qualify (a stale pooled connection).
    pub fn retry_safe(&self) -> bool {
        matches!(
            self,
            ProxyError::UpstreamClosed | ProxyError::UpstreamReset(_)
        )
    }

    /// The one map from error to HTTP status.
    pub fn status(&self) -> u16 {
        use ProxyError::*;
        match self {
            BadRequest(_) | BadBody(_) => 400,
            HeadersTooLarge => 431,
            RequestTimeout => 408,
            NoRoute => 404,
            NotImplemented(_) => 501,
            ClientClosed | ClientIo(_) => 499,
            NoServer => 503,
            Connect(_) | UpstreamClosed | UpstreamReset(_) | UpstreamIo(_) | UpstreamInvalid(_)
            | UpstreamBadBody(_) => 502,
            ConnectTimeout | UpstreamTimeout | UpstreamReadTimeout(_) | UpstreamWriteTimeout(_) => {
                504
            }
            Internal(_) => 500,
        }
    }
}

impl From<ParseError> for ProxyError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::TooLarge => ProxyError::HeadersTooLarge,
            ParseError::Invalid(why) => ProxyError::BadRequest(why),
            ParseError::Unsupported(why) => ProxyError::NotImplemented(why),
        }
    }
}

/// A complete plain-text error response, prebuilt so error paths allocate nothing.
/// `close` adds `Connection: close` (the connection ends after it).
pub fn error_response(status: u16, close: bool) -> &'static [u8] {
    macro_rules! resp {
        ($code:literal, $reason:literal, $len:literal, $body:literal) => {
            if close {
                concat!(
                    "HTTP/1.1 ",
                    $code,
                    " ",
                    $reason,
                    "\r\n",
                    "content-type: text/plain; charset=utf-8\r\n",
                    "content-length: ",
                    $len,
                    "\r\nconnection: close\r\n\r\n",
                    $body
                )
                .as_bytes()
            } else {
                concat!(
                    "HTTP/1.1 ",
                    $code,
                    " ",
                    $reason,
                    "\r\n",
                    "content-type: text/plain; charset=utf-8\r\n",
                    "content-length: ",
                    $len,
                    "\r\n\r\n",
                    $body
                )
                .as_bytes()
            }
        };
    }
    match status {
        400 => resp!("400", "Bad Request", "16", "400 Bad Request\n"),
        404 => resp!("404", "Not Found", "19", "404 page not found\n"),
        408 => resp!("408", "Request Timeout", "20", "408 Request Timeout\n"),
        431 => resp!(
            "431",
            "Request Header Fields Too Large",
            "36",
            "431 Request Header Fields Too Large\n"
        ),
        501 => resp!("501", "Not Implemented", "20", "501 Not Implemented\n"),
        502 => resp!("502", "Bad Gateway", "16", "502 Bad Gateway\n"),
        503 => resp!(
            "503",
            "Service Unavailable",
            "24",
            "503 Service Unavailable\n"
        ),
        504 => resp!("504", "Gateway Timeout", "20", "504 Gateway Timeout\n"),
        _ => resp!(
            "500",
            "Internal Server Error",
            "26",
            "500 Internal Server Error\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_declare_their_exact_body_length() {
        for status in [400, 404, 408, 431, 500, 501, 502, 503, 504] {
            for close in [false, true] {
                let text = std::str::from_utf8(error_response(status, close)).unwrap();
                let (head, body) = text.split_once("\r\n\r\n").unwrap();
                assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(len, body.len(), "{status}");
                assert_eq!(head.contains("connection: close"), close);
            }
        }
    }

    #[test]
    fn every_error_maps_to_the_documented_status() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(ProxyError::NoRoute.status(), 404);
        assert_eq!(ProxyError::HeadersTooLarge.status(), 431);
        assert_eq!(ProxyError::RequestTimeout.status(), 408);
        assert_eq!(ProxyError::Connect(io()).status(), 502);
        assert_eq!(ProxyError::UpstreamClosed.status(), 502);
        assert_eq!(ProxyError::NoServer.status(), 503);
        assert_eq!(ProxyError::UpstreamTimeout.status(), 504);
        let up = "127.0.0.1:80".parse().unwrap();
        assert_eq!(ProxyError::UpstreamReadTimeout(up).status(), 504);
        assert_eq!(ProxyError::UpstreamWriteTimeout(up).status(), 504);
        assert!(!ProxyError::UpstreamReadTimeout(up).retry_safe());
        assert_eq!(ProxyError::ClientClosed.status(), 499);
        assert_eq!(ProxyError::Internal("x").status(), 500);
        assert!(ProxyError::UpstreamClosed.retry_safe());
        assert!(ProxyError::UpstreamReset(io()).retry_safe());
        assert!(!ProxyError::UpstreamIo(io()).retry_safe());
        assert!(!ProxyError::UpstreamTimeout.retry_safe());
    }
}
