//! Whether a request is kept whole for another attempt decided on the
//! upstream's answer, and within which bounds: the plan both client
//! protocols follow before forwarding (`Downstream::keep`). A `buffering`
//! middleware, a failover's `errors` and the entry point refuse a larger body
//! (413, Traefik's answer for the first two); a `retry` with `status` keeps a
//! body only up to its own `maxRequestBodyBytes`, and past it the request is
//! forwarded as usual, never retried on a status (Traefik's rule). A body of
//! unknown length (chunked) past that bound cannot be forwarded after its
//! start was spooled: it is refused with 413.

use crate::config::FailoverErrors;
use crate::http::body::RelayError;
use crate::http::codec::BodyKind;
use crate::http::error::ProxyError;
use crate::middleware::buffering::DEFAULT_MEM_BODY_BYTES;
use crate::middleware::{Buffering, Edits, Retry};
use crate::runtime::io::IoFail;

/// What to do with the request before forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing may send it again (or its body is too large for `retry`).
    Stream,
    /// Its declared length is past a refusing bound: 413, body unread.
    Refuse,
    /// Read the body (if any) into a spool.
    Keep {
        /// Bytes kept in memory; the rest goes to a temporary file.
        mem: u64,
        /// Past it the spool fails (413).
        max: Option<u64>,
        /// `retry`'s `status` applies to bodies up to this many bytes
        /// (`None`: it does not apply).
        status_retry: Option<u64>,
    },
}

/// The policies that may send a request again, as its chain and the way to
/// its service set them.
pub struct Policies<'a> {
    pub buffering: Option<&'a Buffering>,
    /// A `retry` whose `status` applies to the request's method.
    pub retry: Option<Retry>,
    pub fallback: Option<FailoverErrors>,
    /// The entry point's `transport.maxRequestBodyBytes`.
    pub entry_max: Option<u64>,
}

impl Policies<'_> {
    /// The policies a request's chain (`edits`, `method`) and the way to its
    /// service (`fallback`) set; `None` when none may send it again.
    pub fn of<'e>(
        edits: &'e Edits,
        method: &[u8],
        fallback: Option<FailoverErrors>,
        entry_max: Option<u64>,
    ) -> Option<Policies<'e>> {
        let buffering = edits.buffering().map(|b| &**b);
        let wanted = buffering.is_some() || edits.retry().is_some() || fallback.is_some();
        wanted.then(|| Policies {
            buffering,
            retry: edits.retry().filter(|r| r.on_status(method)),
            fallback,
            entry_max,
        })
    }

    pub fn plan(&self, body: BodyKind) -> Plan {
        if self.buffering.is_none() && self.retry.is_none() && self.fallback.is_none() {
            return Plan::Stream;
        }
        let refusing = [
            self.buffering.and_then(|b| b.max_request_body_bytes),
            self.fallback.and_then(|f| f.max_request_body_bytes),
            self.entry_max,
        ];
        let hard = refusing.into_iter().flatten().min();
        let soft = self.retry.and_then(|r| r.max_request_body_bytes);
        let only_retry = self.buffering.is_none() && self.fallback.is_none();
        match (body, hard, soft) {
            (BodyKind::Length(n), Some(max), _) if n > max => return Plan::Refuse,
            (BodyKind::Length(n), _, Some(max)) if only_retry && n > max => {
                return Plan::Stream;
            }
            _ => {}
        }
        let max = match only_retry {
            true => [hard, soft].into_iter().flatten().min(),
            false => hard,
        };
        Plan::Keep {
            mem: self
                .buffering
                .map_or(DEFAULT_MEM_BODY_BYTES, |b| b.mem_request_body_bytes),
            max,
            status_retry: self
                .retry
                .map(|r| r.max_request_body_bytes.unwrap_or(u64::MAX)),
        }
    }
}

/// The answer for a body that could not be read into the spool.
pub fn spool_error(e: RelayError) -> ProxyError {
    match e {
        RelayError::TooLarge => ProxyError::BodyTooLarge,
        RelayError::Read(IoFail::Timeout) => ProxyError::RequestTimeout,
        RelayError::Invalid(e) => ProxyError::BadBody(e),
        RelayError::Write(IoFail::Io(e)) => {
            log::error!("cannot write a request body to a temporary file: {e}");
            ProxyError::Internal("temporary file")
        }
        _ => ProxyError::ClientClosed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::StatusSet;

    fn retry(max: Option<u64>) -> Retry {
        Retry {
            attempts: 2,
            initial_interval: std::time::Duration::ZERO,
            timeout: None,
            status: StatusSet::parse(&["500-599".into()]).unwrap(),
            max_request_body_bytes: max,
            disable_retry_on_network_error: false,
            retry_non_idempotent_method: false,
        }
    }

    fn policies(retry: Option<Retry>, fallback: Option<FailoverErrors>) -> Policies<'static> {
        Policies {
            buffering: None,
            retry,
            fallback,
            entry_max: None,
        }
    }

    #[test]
    fn a_retry_streams_a_declared_body_past_its_bound_as_traefik_does() {
        let p = policies(Some(retry(Some(10))), None);
        assert_eq!(p.plan(BodyKind::Length(11)), Plan::Stream);
        let kept = p.plan(BodyKind::Length(10));
        assert!(matches!(
            kept,
            Plan::Keep {
                max: Some(10),
                status_retry: Some(10),
                ..
            }
        ));
        // Unknown length: spooled up to the bound (past it, 413).
        assert!(matches!(
            p.plan(BodyKind::Chunked),
            Plan::Keep { max: Some(10), .. }
        ));
        assert_eq!(policies(None, None).plan(BodyKind::Length(1)), Plan::Stream);
    }

    #[test]
    fn a_failover_refuses_a_body_past_its_bound_and_keeps_any_by_default() {
        let errors = |max| FailoverErrors {
            status: StatusSet::parse(&["500".into()]).unwrap(),
            max_request_body_bytes: max,
        };
        let p = policies(Some(retry(Some(10))), Some(errors(Some(100))));
        assert_eq!(p.plan(BodyKind::Length(101)), Plan::Refuse);
        // The body is kept for the failover; the retry's bound only decides
        // whether `status` applies.
        assert!(matches!(
            p.plan(BodyKind::Length(50)),
            Plan::Keep {
                max: Some(100),
                status_retry: Some(10),
                ..
            }
        ));
        let p = policies(None, Some(errors(None)));
        assert!(matches!(
            p.plan(BodyKind::Chunked),
            Plan::Keep {
                max: None,
                status_retry: None,
                ..
            }
        ));
    }
}
