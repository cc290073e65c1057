//! Judging the upstream's answer before anything of it reaches the client:
//! a `retry` middleware's `status`, a `buffering` middleware's
//! `retryExpression` (`ResponseCode()` is the status the upstream sent) and
//! a failover's `errors` may each discard it and send the request again,
//! which they can only do while the request is kept whole
//! (`Downstream::kept`). A discarded answer's body is drained when it is
//! short (an error page) and its connection pooled again; otherwise the
//! connection is dropped, so no unread body is left on a pooled connection.

use std::time::{Duration, Instant};

use crate::config::{FailoverErrors, ServersTransport};
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{BodyKind, ResponseHead};
use crate::http::downstream::Downstream;
use crate::http::server::ReqState;
use crate::net::upstream::{PoolKey, UpstreamConn};
use crate::runtime::io;

/// What an attempt's answer is judged against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Judge {
    /// A `retry` middleware allows another attempt.
    pub more: bool,
    /// Attempts made so far, this one included (`Attempts()`); 0 for
    /// [`Judge::NEVER`].
    pub made: u32,
    /// The failover's `errors`, when a failover with them chose this service.
    pub errors: Option<FailoverErrors>,
}

/// Why an answer is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Another attempt, after the retry's backoff, to the balancer's next pick.
    Retry,
    /// The failover's fallback gets the request.
    Fallback,
}

impl Judge {
    /// For an answer that cannot be discarded: the request body streamed
    /// beside it (an HTTP/2 client's to an HTTP/2 upstream) is not kept.
    pub(super) const NEVER: Judge = Judge {
        more: false,
        made: 0,
        errors: None,
    };

    /// The verdict on an answer with `status`; `None`: it goes to the client.
    /// The failover comes first: in Traefik it is the service, inside any
    /// retry middleware of the router.
    pub(super) fn verdict<D: Downstream>(&self, d: &D, status: u16) -> Option<Verdict> {
        let kept = d.kept();
        if !kept.whole || self.made == 0 {
            return None;
        }
        if falls_back(self.errors, status) {
            return Some(Verdict::Fallback);
        }
        let on_status = self.more
            && kept.status_retry
            && d.retry_policy().is_some_and(|p| p.status.contains(status));
        (on_status || d.replay(self.made, status)).then_some(Verdict::Retry)
    }
}

/// Whether a failover's `errors` send an answer with `status` to its fallback.
pub(super) fn falls_back(errors: Option<FailoverErrors>, status: u16) -> bool {
    errors.is_some_and(|e| e.status.contains(status))
}

/// A discarded answer's body is read and thrown away up to this many bytes,
/// so that its connection can serve the next request; past it the
/// connection is closed instead.
const DRAIN_MAX: u64 = 64 * 1024;
/// The longest silence while draining (less when `readTimeout` is less),
/// and the whole drain's budget: a body trickled byte by byte must not hold
/// the retry (and the client) for longer than this.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// Lets a discarded HTTP/1.1 answer go: its body drained (up to
/// [`DRAIN_MAX`]) and its connection back to the pool, or, when that cannot
/// be done cleanly, the connection dropped (closed).
pub(super) async fn discard<D: Downstream>(
    d: &D,
    mut up: UpstreamConn,
    resp: &ResponseHead,
    key: PoolKey,
    t: &ServersTransport,
) {
    let reusable = !resp.close && resp.body != BodyKind::UntilClose;
    if !reusable || d.body_state() != ReqState::Consumed {
        return;
    }
    io::consume(&mut up.buf, resp.head_len);
    let relay = Relay {
        kind: resp.body,
        dechunk: false,
        read_timeout: Some(t.read_timeout.map_or(DRAIN_WAIT, |r| r.min(DRAIN_WAIT))),
        write_timeout: None,
    };
    let mut sink = Drain { left: DRAIN_MAX };
    let drain = relay.run(&mut up.stream, &mut up.buf, &mut sink);
    let drained = io::until(Some(Instant::now() + DRAIN_WAIT), drain).await;
    if matches!(drained, Ok(Ok(_))) && up.buf.is_empty() {
        d.pool()
            .checkin(key, up, t.max_idle_conns_per_host, t.idle_conn_timeout);
    }
}

/// Throws a body away, refusing more than `left` bytes of it.
struct Drain {
    left: u64,
}

impl Sink for Drain {
    async fn write(
        &mut self,
        _buf: &mut Vec<u8>,
        len: usize,
        _deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.left = (self.left.checked_sub(len as u64)).ok_or(RelayError::TooLarge)?;
        Ok(())
    }

    async fn watch(&self) {
        std::future::pending().await
    }
}
