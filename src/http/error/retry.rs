//! The retry decision for a failed upstream attempt: how far the attempt got
//! ([`Attempt`]) and the error decide whether the request is sent again, on a
//! fresh connection or as the `retry` middleware's next attempt ([`Retry`]).

use super::{Blame, ProxyError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::codec::ParseError;

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
