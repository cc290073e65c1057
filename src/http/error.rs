//! Errors on the request path. Each error is a kind (the variant) with its blame
//! (client, upstream or internal); the two decisions made from an error are made
//! here and nowhere else: the status the client sees ([`ProxyError::status`], the
//! one map; docs/architecture.md §7) and whether a failed upstream attempt may be
//! sent again ([`retry`], from the error and how far the attempt got, so no call
//! site has to pick a "retryable" variant).

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

/// How far one attempt to forward a request got, as the retry decision needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt {
    /// The upstream connection came from the pool (it may have died idle).
    pub reused: bool,
    /// Any byte came back from the upstream (a partial head, an interim 1xx),
    /// or any response byte went to the client.
    pub answered: bool,
    /// The request is still whole here: its body had not started to flow
    /// (only the head was written), or it was small enough to be sent whole
    /// with the head and is idempotent, so sending it again cannot repeat a
    /// side effect.
    pub replayable: bool,
    /// This attempt was already a retry on a fresh connection.
    pub retried: bool,
    /// A `retry` middleware allows another attempt (its count not used up).
    pub more: bool,
    /// `buffering`'s `retryExpression` asks for this attempt to be made again
    /// (its request is kept whole, and the client has seen nothing).
    pub replay: bool,
}

/// Whether a failed attempt is sent again (pingora's `RetryType`, reduced to
/// what proxyd does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// On a fresh connection to the same server.
    FreshConnection,
    /// As a new attempt of the `retry` middleware: after its backoff, to the
    /// balancer's next pick.
    NextAttempt,
    Never,
}

/// The one retry decision.
///
/// A pooled connection the upstream closed while it was idle fails the first
/// write or read with a reset or an end of stream and no answer: that proves
/// the upstream never processed the request, so it is sent once more on a
/// fresh connection when it can be replayed.
///
/// Beyond that, only a `retry` middleware with attempts left sends a request
/// again, and only when the client has seen nothing of the response. Its rule
/// is Traefik's: the request never reached the server (the dial failed or
/// timed out), whatever its method and body; and proxyd's own addition: the
/// connection ended (closed or reset) before any answer and the request can be
/// replayed (a streamed body is gone, and a non-idempotent request that went
/// whole may have been processed). A timeout, an invalid answer, or anything
/// after the upstream said something goes to the client as its status, unless
/// a policy judged that status (`Attempt::replay`, or an answer discarded as
/// `ProxyError::Discarded`).
pub fn retry(err: &ProxyError, at: &Attempt) -> Retry {
    // An answer discarded on its status: the judge (`http::proxy::judge`)
    // already checked that the request is whole and may go again.
    if matches!(err, ProxyError::Discarded(_)) {
        return Retry::NextAttempt;
    }
    let unanswered_end = matches!(err, ProxyError::UpstreamClosed | ProxyError::UpstreamIo(_));
    // An HTTP/2 stream the upstream refused was never processed (RFC 9113
    // §8.7), whatever connection it went on: as safe as a stale one.
    let refused = matches!(err, ProxyError::UpstreamRefused(_));
    let stale = refused || (unanswered_end && at.reused);
    if stale && !at.answered && at.replayable && !at.retried {
        return Retry::FreshConnection;
    }
    // oxy replays a buffered request whatever went wrong, as its expression
    // says; a client that left has nothing to replay for.
    if at.replay && err.blame() != Blame::Client {
        return Retry::NextAttempt;
    }
    let never_reached = matches!(err, ProxyError::Connect(_) | ProxyError::ConnectTimeout);
    let lost = (unanswered_end || refused) && !at.answered && at.replayable;
    if at.more && (never_reached || lost) {
        Retry::NextAttempt
    } else {
        Retry::Never
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

/// The body of the error response for `status` (`404 page not found\n` …).
pub fn error_body(status: u16) -> &'static [u8] {
    let whole = error_response(status, false);
    let at = memchr::memmem::find(whole, b"\r\n\r\n").map_or(whole.len(), |i| i + 4);
    &whole[at..]
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
        413 => resp!(
            "413",
            "Request Entity Too Large",
            "29",
            "413 Request Entity Too Large\n"
        ),
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
        for status in [400, 404, 408, 413, 431, 500, 501, 502, 503, 504] {
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

    #[test]
    fn retry_only_a_replayable_request_on_a_stale_pooled_connection() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let stale = Attempt {
            reused: true,
            answered: false,
            replayable: true,
            retried: false,
            more: false,
            replay: false,
        };
        assert_eq!(
            retry(&ProxyError::UpstreamClosed, &stale),
            Retry::FreshConnection
        );
        assert_eq!(
            retry(&ProxyError::UpstreamIo(io()), &stale),
            Retry::FreshConnection
        );
        // A refused HTTP/2 stream, even on a fresh connection.
        let refused = ProxyError::UpstreamRefused("REFUSED_STREAM".into());
        let fresh = Attempt {
            reused: false,
            ..stale
        };
        assert_eq!(retry(&refused, &fresh), Retry::FreshConnection);
        let streamed = Attempt {
            replayable: false,
            ..fresh
        };
        assert_eq!(retry(&refused, &streamed), Retry::Never);
        let up = "127.0.0.1:80".parse().unwrap();
        for err in [
            ProxyError::UpstreamTimeout,
            ProxyError::UpstreamReadTimeout(up),
            ProxyError::UpstreamInvalid(ParseError::Invalid("x")),
            ProxyError::ClientClosed,
            ProxyError::ConnectTimeout,
        ] {
            assert_eq!(retry(&err, &stale), Retry::Never, "{err}");
        }
        let changed = [
            Attempt {
                reused: false,
                ..stale
            },
            Attempt {
                answered: true,
                ..stale
            },
            Attempt {
                replayable: false,
                ..stale
            },
            Attempt {
                retried: true,
                ..stale
            },
        ];
        for at in changed {
            assert_eq!(
                retry(&ProxyError::UpstreamClosed, &at),
                Retry::Never,
                "{at:?}"
            );
        }
    }

    #[test]
    fn a_retry_middleware_retries_what_never_reached_or_was_lost_unanswered() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let fresh = Attempt {
            reused: false,
            answered: false,
            replayable: true,
            retried: false,
            more: true,
            replay: false,
        };
        let streamed = Attempt {
            replayable: false,
            ..fresh
        };
        // Never reached the server: any request, even one whose body streams.
        for at in [fresh, streamed] {
            let refused = ProxyError::Connect(io());
            assert_eq!(retry(&refused, &at), Retry::NextAttempt);
            assert_eq!(retry(&ProxyError::ConnectTimeout, &at), Retry::NextAttempt);
        }
        // Lost before an answer: only a replayable request.
        assert_eq!(
            retry(&ProxyError::UpstreamIo(io()), &fresh),
            Retry::NextAttempt
        );
        assert_eq!(retry(&ProxyError::UpstreamClosed, &streamed), Retry::Never);
        let answered = Attempt {
            answered: true,
            ..fresh
        };
        assert_eq!(retry(&ProxyError::UpstreamClosed, &answered), Retry::Never);
        assert_eq!(retry(&ProxyError::UpstreamTimeout, &fresh), Retry::Never);
        let spent = Attempt {
            more: false,
            ..fresh
        };
        assert_eq!(retry(&ProxyError::ConnectTimeout, &spent), Retry::Never);
    }

    #[test]
    fn a_buffering_retry_expression_replays_anything_but_a_client_gone() {
        let asked = Attempt {
            answered: true,
            replay: true,
            ..Attempt::default()
        };
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for err in [
            ProxyError::Connect(io()),
            ProxyError::UpstreamTimeout,
            ProxyError::UpstreamClosed,
        ] {
            assert_eq!(retry(&err, &asked), Retry::NextAttempt, "{err}");
        }
        assert_eq!(retry(&ProxyError::ClientClosed, &asked), Retry::Never);
        let not_asked = Attempt {
            replay: false,
            ..asked
        };
        assert_eq!(
            retry(&ProxyError::UpstreamTimeout, &not_asked),
            Retry::Never
        );
    }
}
