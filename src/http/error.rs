//! Errors on the request path. Each error is a kind (the variant) with its blame
//! (client, upstream or internal); the two decisions made from an error are made
//! here and nowhere else: the status the client sees ([`ProxyError::status`], the
//! one map; docs/architecture.md §7) and whether a failed upstream attempt may be
//! sent again ([`retry`], from the error and how far the attempt got, so no call
//! site has to pick a "retryable" variant). The prebuilt error responses are in
//! `error/response.rs`.

mod response;
mod retry;

pub use response::{error_body, error_response};
pub use retry::{Attempt, Retry, retry};

use std::io;
use std::net::SocketAddr;

use crate::http::codec::{ChunkError, ParseError};
use crate::net::upstream::DialError;

/// Who caused a failure: decides the status and whether an upstream is blamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
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
    #[error("request body larger than the entry point's maxRequestBodyBytes")]
    BodyTooLarge,
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
    /// The server's host name does not resolve (the resolver retries it).
    #[error("server host {0:?} does not resolve")]
    Unresolved(String),
    /// The TLS handshake with an `https://` server failed (its certificate
    /// did not verify, no common version or suite, a refused client certificate).
    #[error("upstream TLS handshake failed: {0}")]
    UpstreamTls(io::Error),
    #[error("upstream closed the connection before a response")]
    UpstreamClosed,
    #[error("upstream i/o: {0}")]
    UpstreamIo(io::Error),
    /// The upstream refused an HTTP/2 stream (REFUSED_STREAM, or the stream
    /// was above its GOAWAY's last stream id): it never processed it.
    #[error("upstream refused the HTTP/2 stream: {0}")]
    UpstreamRefused(String),
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
    /// A `buffering` middleware's `maxResponseBodyBytes` (oxy answers 500).
    #[error("upstream response body larger than maxResponseBodyBytes")]
    ResponseTooLarge,
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// `grpcWeb` converted the request for a server that speaks HTTP/1.1.
    #[error("grpcWeb needs an HTTP/2 server (h2c://, or https:// agreeing h2): {0} is not one")]
    GrpcWebNeedsH2(String),
    /// The upstream answered with this status, and a `retry`, `buffering` or
    /// failover policy discarded the answer to send the request again.
    #[error("upstream answered {0}: discarded for another attempt")]
    Discarded(u16),
}

impl ProxyError {
    pub fn blame(&self) -> Blame {
        use ProxyError::*;
        match self {
            BadRequest(_) | HeadersTooLarge | RequestTimeout | BadBody(_) | BodyTooLarge
            | NoRoute | NotImplemented(_) | ClientClosed | ClientIo(_) => Blame::Client,
            NoServer | Internal(_) | GrpcWebNeedsH2(_) => Blame::Internal,
            Connect(_)
            | ConnectTimeout
            | Unresolved(_)
            | UpstreamTls(_)
            | UpstreamClosed
            | UpstreamIo(_)
            | UpstreamRefused(_)
            | UpstreamInvalid(_)
            | UpstreamBadBody(_)
            | ResponseTooLarge
            | UpstreamTimeout
            | UpstreamReadTimeout(_)
            | UpstreamWriteTimeout(_)
            | Discarded(_) => Blame::Upstream,
        }
    }

    /// The one map from error to HTTP status.
    pub fn status(&self) -> u16 {
        use ProxyError::*;
        match self {
            BadRequest(_) | BadBody(_) => 400,
            HeadersTooLarge => 431,
            BodyTooLarge => 413,
            RequestTimeout => 408,
            NoRoute => 404,
            NotImplemented(_) => 501,
            ClientClosed | ClientIo(_) => 499,
            NoServer => 503,
            Connect(_) | Unresolved(_) | UpstreamTls(_) | UpstreamClosed | UpstreamIo(_)
            | UpstreamRefused(_) | UpstreamInvalid(_) | UpstreamBadBody(_) | GrpcWebNeedsH2(_) => {
                502
            }
            ConnectTimeout | UpstreamTimeout | UpstreamReadTimeout(_) | UpstreamWriteTimeout(_) => {
                504
            }
            Internal(_) | ResponseTooLarge => 500,
            Discarded(status) => *status,
        }
    }
}

impl From<DialError> for ProxyError {
    fn from(e: DialError) -> Self {
        match e {
            DialError::Timeout => ProxyError::ConnectTimeout,
            DialError::Failed(e) => ProxyError::Connect(e),
            // The handshake's own deadline (Go's TLSHandshakeTimeout) is a timeout too.
            DialError::Tls(e) if e.kind() == io::ErrorKind::TimedOut => ProxyError::ConnectTimeout,
            DialError::Tls(e) => ProxyError::UpstreamTls(e),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_the_documented_status() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(ProxyError::NoRoute.status(), 404);
        assert_eq!(ProxyError::HeadersTooLarge.status(), 431);
        assert_eq!(ProxyError::BodyTooLarge.status(), 413);
        assert_eq!(ProxyError::RequestTimeout.status(), 408);
        assert_eq!(ProxyError::Connect(io()).status(), 502);
        assert_eq!(ProxyError::UpstreamClosed.status(), 502);
        assert_eq!(ProxyError::NoServer.status(), 503);
        assert_eq!(ProxyError::UpstreamTimeout.status(), 504);
        let up = "127.0.0.1:80".parse().unwrap();
        assert_eq!(ProxyError::UpstreamReadTimeout(up).status(), 504);
        assert_eq!(ProxyError::UpstreamWriteTimeout(up).status(), 504);
        assert_eq!(ProxyError::ClientClosed.status(), 499);
        assert_eq!(ProxyError::Internal("x").status(), 500);
        assert_eq!(ProxyError::ResponseTooLarge.status(), 500);
    }
}
