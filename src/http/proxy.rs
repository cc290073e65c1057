//! Forwarding one request to a load-balanced upstream over HTTP/1.1: pick a
//! server, take a pooled connection or dial one, send the rewritten head and
//! stream the body, wait for the response head (watching for the client
//! leaving), pass the response on, and return the connection to the pool when
//! the exchange ended cleanly. An upstream that answers before taking the whole
//! body gets its answer passed on, then the client's connection closes
//! (`request`). The client side is any [`Downstream`]: forwarding never sees
//! the client's protocol.

use std::net::SocketAddr;
use std::time::Instant;

use crate::config::{FailoverErrors, LoadBalancer, Server, ServersTransport};
use crate::http::codec::{BodyKind, RequestHead, ResponseHead};
use crate::http::downstream::{Answered, Downstream, ServerSide, Source};
use crate::http::error::{self, Attempt, Blame, ProxyError, Retry};
use crate::http::server::{Outcome, ReqState};
use crate::net::upstream::{self, UpstreamConn};
use crate::runtime::io::{self, IoFail};
use crate::service::balancer::{Balancer, Picked};

mod judge;
mod mirror;
mod request;
mod response;
mod retry;
mod serve;
mod tree;
mod upstream_h2;

use judge::{Judge, Verdict};
pub use mirror::Mirrored;
pub use serve::{Served, serve};
pub use tree::{Fallback, Resolved, resolve};
pub use upstream_h2::{Slot as H2Slot, stream_slot as h2_stream_slot};

/// The upstream end of one exchange: the server and its transport's limits.
#[derive(Clone, Copy)]
struct Leg<'a> {
    addr: SocketAddr,
    t: &'a ServersTransport,
}

impl Leg<'_> {
    fn write_deadline(&self) -> Option<Instant> {
        self.t.write_timeout.map(|d| Instant::now() + d)
    }

    /// The deadline of one read: `readTimeout` from now, unless `whole` (the
    /// response head's own timeout) applies.
    fn read_deadline(&self, whole: Option<Instant>) -> Option<Instant> {
        whole.or_else(|| self.t.read_timeout.map(|d| Instant::now() + d))
    }
}

/// How forwarding to a load balancer ended.
pub enum Forwarded<'v> {
    /// An answer (or an error) went to the client.
    Sent(Outcome),
    /// A failover's `errors` discarded the answer: the request, still kept
    /// whole, goes to the fallback (with the mirrors, not yet sent).
    Fallback(Option<Mirrored<'v>>),
}

pub async fn forward<'v, D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    lb: &LoadBalancer,
    balancer: &Balancer,
    mirrored: Option<Mirrored<'v>>,
    errors: Option<FailoverErrors>,
) -> Forwarded<'v> {
    // A mirror's copy is the request as the last attempt wrote it.
    let mut copy = mirrored
        .as_ref()
        .filter(|_| mirror::eligible(head))
        .map(|m| mirror::Tee::new(m.def));
    let Some(outcome) = attempts(d, head, lb, balancer, copy.as_mut(), errors).await else {
        return Forwarded::Fallback(mirrored);
    };
    d.end_attempts();
    if let (Some(m), Some(copy)) = (mirrored, copy.and_then(mirror::Tee::take)) {
        mirror::send(m, copy, head, d.client_ip());
    }
    Forwarded::Sent(outcome)
}

/// One attempt, or as many as a `retry` middleware allows (`retry`); `None`
/// when a failover's `errors` send the request to the fallback.
async fn attempts<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    lb: &LoadBalancer,
    balancer: &Balancer,
    mut copy: Option<&mut mirror::Tee>,
    errors: Option<FailoverErrors>,
) -> Option<Outcome> {
    let policy = d.retry_policy();
    let mut tries = retry::Tries::new(policy);
    // `disableRetryOnNetworkError`: a failure before any answer is not retried.
    let on_network = policy.is_none_or(|p| !p.disable_retry_on_network_error);
    loop {
        // None up is a 503. The pick (p2c's in-flight count) is held until the
        // attempt ends.
        let picked = pick(d, lb, balancer);
        d.record().server = picked.as_ref().map(|p| p.index);
        let Some(server) = picked.as_ref().map(|p| &lb.servers[p.index]) else {
            return Some(d.fail(head, ProxyError::NoServer).await);
        };
        let judge = Judge {
            more: tries.more(),
            made: tries.made(),
            errors,
        };
        let mut at = Attempt {
            more: judge.more && on_network,
            ..Attempt::default()
        };
        let result = exchange(
            d,
            head,
            (lb, server),
            &mut at,
            copy.as_deref_mut(),
            &picked,
            &judge,
        );
        let result = result.await;
        if let Some(p) = &picked {
            note_passive(d, lb, p.index, &result);
        }
        let e = match result {
            Ok(outcome) => return Some(outcome),
            Err(ProxyError::Discarded(s)) if judge::falls_back(errors, s) => {
                log::debug!("{}: answered {s}: failing over to the fallback", server.url);
                return None;
            }
            Err(e) => e,
        };
        // proxyd's own failure status counts as an answer's for `status`
        // (Traefik's retry sees the 502 its proxy writes) and for
        // `retryExpression` (oxy's `ResponseCode()`).
        let more = tries.more();
        at.replay = e.blame() != Blame::Client
            && Judge { more, ..judge }.verdict(d, e.status()) == Some(Verdict::Retry);
        at.more = more && on_network;
        if error::retry(&e, &at) == Retry::NextAttempt {
            drop(picked);
            log::debug!("{}: {e}: retrying", server.url);
            d.record().retries = d.record().retries.saturating_add(1);
            tries.wait().await;
            continue;
        }
        return Some(failed(d, head, e).await);
    }
}

/// Counts one attempt for the load balancer's passive health check. Traefik
/// counts an attempt that never reached the server, or got a 5xx, as a
/// failure; anything else clears the server's failures.
fn note_passive<D: Downstream>(
    d: &mut D,
    lb: &LoadBalancer,
    index: usize,
    result: &Result<Outcome, ProxyError>,
) {
    let Some(passive) = &lb.passive else { return };
    let failed = match result {
        Ok(_) => d.record().origin_status >= 500,
        Err(ProxyError::Discarded(status)) => *status >= 500,
        Err(e) => e.blame() == Blame::Upstream,
    };
    let server = &lb.servers[index];
    let active = lb.health_check.is_some();
    passive.note(index, failed, &server.health, active, &server.url);
}

/// An attempt failed for good: its error goes to the client.
async fn failed<D: Downstream>(d: &mut D, head: &RequestHead, e: ProxyError) -> Outcome {
    // An upstream failure while the client's body was still coming: the
    // error goes out, then a lingering close, so that the unread body
    // does not turn the close into a reset that destroys the response.
    // A body past the entry point's limit stops coming the same way.
    let stopped = e.blame() == Blame::Upstream || matches!(e, ProxyError::BodyTooLarge);
    let linger = d.body_state() == ReqState::Broken && stopped && !d.response_started();
    let outcome = d.fail(head, e).await;
    if linger {
        d.linger().await;
    }
    outcome
}

/// The server for this request: the one its sticky cookie names when that
/// server is up, else the balancer's pick among the servers up (the prober
/// marks the others down). A client without a cookie for a server that is up
/// (or with an old Traefik form of one) gets its server's cookie.
fn pick<'b, D: Downstream>(
    d: &mut D,
    lb: &LoadBalancer,
    balancer: &'b Balancer,
) -> Option<Picked<'b>> {
    // A server whose host name does not resolve (now) is not picked while
    // another can be; alone, it is picked and answers 502 naming its host.
    let up = |i: usize| lb.server_up(i);
    let ready = |i: usize| up(i) && lb.servers[i].addr.get().is_some();
    let sticky = lb.sticky.as_deref();
    let pinned = sticky.and_then(|s| {
        d.request_cookie(s.name.as_bytes())
            .and_then(|v| s.server(v))
    });
    let pinned = pinned.filter(|&(i, _)| ready(i));
    let picked = match pinned {
        Some((i, _)) => Some(balancer.pin(i)),
        None => (balancer.pick(lb, d.client_ip(), ready))
            .or_else(|| balancer.pick(lb, d.client_ip(), up)),
    };
    if let (Some(s), Some(p)) = (sticky, &picked)
        && pinned.is_none_or(|(_, legacy)| legacy)
    {
        let value = &s.values[p.index];
        let parts = [
            s.name.as_bytes(),
            b"=",
            value.as_bytes(),
            s.attributes.as_bytes(),
        ];
        d.add_response_header(b"Set-Cookie", &parts);
    }
    picked
}

async fn exchange<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    (lb, server): (&LoadBalancer, &Server),
    at: &mut Attempt,
    mut copy: Option<&mut mirror::Tee>,
    picked: &Option<Picked<'_>>,
    judge: &Judge,
) -> Result<Outcome, ProxyError> {
    let side = ServerSide {
        host_override: (!lb.pass_host_header).then_some(server.authority.as_str()),
        default_host: &server.authority,
        path_prefix: &server.path_prefix,
    };
    // The name may have stopped resolving since the pick (or it is the only
    // server): 502, naming the host.
    let Some(addr) = server.addr.get() else {
        let host = server.addr.name().map_or("", |n| n.host.as_str());
        return Err(ProxyError::Unresolved(host.to_string()));
    };
    let written = d.write_upstream_request(head, &side);
    // A mirror's copy: the request as the main server gets it; a streamed
    // body is added as it goes out.
    if let Some(c) = copy.as_deref_mut() {
        c.start(d.out());
    }
    let t = &lb.transport;
    let leg = Leg { addr, t };
    let mut retried = false;
    let tls = server.tls.as_deref();
    let key = upstream::pool_key(addr, tls);
    // HTTP/2 (`h2c://`, or `https://` that agrees `h2`) runs its own exchange.
    let mut first = None;
    if upstream_h2::wanted(server) {
        match upstream_h2::exchange(d, head, (server, judge), leg, key, written, at).await {
            upstream_h2::Via::H2(result) => return result,
            upstream_h2::Via::H1(up) => first = up,
        }
    }
    if d.grpc_web().is_some() {
        // gRPC-Web becomes gRPC, which HTTP/1.1 cannot carry (trailers).
        return Err(ProxyError::GrpcWebNeedsH2(server.url.clone()));
    }
    let (mut up, resp) = loop {
        let mut up = match first.take().or_else(|| d.pool().checkout(key)) {
            Some(up) => up,
            None => upstream::dial_tls(addr, t.dial_timeout, tls).await?,
        };
        let mut answered = false;
        let tee = copy.as_deref_mut();
        let e = match send_and_wait(d, head, &mut up, written.inline, leg, &mut answered, tee).await
        {
            Ok(resp) => break (up, resp),
            Err(e) => e,
        };
        *at = Attempt {
            reused: up.reused,
            // A partial response head counts as much as an interim one.
            answered: answered || !up.buf.is_empty(),
            replayable: written.replayable || d.body_state() == ReqState::Untouched,
            retried,
            more: at.more,
            replay: false,
        };
        if error::retry(&e, at) != Retry::FreshConnection {
            return Err(e);
        }
        log::debug!(
            "stale pooled connection to {} ({e}): retrying on a fresh one",
            addr
        );
        retried = true;
        d.record().retries += 1;
    };
    // From here on the client may see the response: no more attempts.
    at.answered = true;
    if let Some(p) = picked {
        p.first_byte();
    }
    if resp.status == 101 {
        return d.switch_protocols(head, &resp, up).await;
    }
    if judge.verdict(d, resp.status).is_some() {
        judge::discard(d, up, &resp, key, t).await;
        return Err(ProxyError::Discarded(resp.status));
    }
    let from = Source {
        addr,
        read_timeout: t.read_timeout,
    };
    let outcome = d.send_response(head, &resp, &mut up, from).await?;
    if d.body_state() != ReqState::Consumed {
        // The upstream answered before taking the whole body (`request`): its
        // connection is mid-request, and the client's still has body bytes coming.
        drop(up);
        d.linger().await;
        return Ok(outcome);
    }
    if !resp.close && resp.body != BodyKind::UntilClose && up.buf.is_empty() {
        d.pool()
            .checkin(key, up, t.max_idle_conns_per_host, t.idle_conn_timeout);
    }
    Ok(outcome)
}

/// Sends the head (already in the downstream's `out`) and the body, then reads
/// the final response head, passing interim 1xx responses on. `answered` is set
/// once an interim response came (the retry decision needs it).
async fn send_and_wait<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    up: &mut UpstreamConn,
    inline: bool,
    leg: Leg<'_>,
    answered: &mut bool,
    copy: Option<&mut mirror::Tee>,
) -> Result<ResponseHead, ProxyError> {
    io::write_vec(&mut up.stream, d.out(), leg.write_deadline())
        .await
        .map_err(|e| match e {
            IoFail::Io(e) => ProxyError::UpstreamIo(e),
            IoFail::Timeout => ProxyError::UpstreamWriteTimeout(leg.addr),
        })?;
    if !inline {
        request::stream_body(d, head, up, leg, copy).await?;
    }
    let deadline = leg.t.response_header_timeout.map(|d| Instant::now() + d);
    loop {
        let resp = response::read_head(d, up, head.is_head, leg, deadline).await?;
        if resp.status >= 200 || resp.status == 101 {
            return Ok(resp);
        }
        *answered = true;
        let interim = Answered {
            resp: &resp,
            buf: &up.buf,
        };
        d.send_interim(head, interim).await?;
        io::consume(&mut up.buf, resp.head_len);
    }
}
