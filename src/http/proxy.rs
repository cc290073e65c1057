//! Forwarding one request to a load-balanced upstream: pick a server, take a pooled
//! connection or dial one, send the rewritten head and stream the body, wait for the
//! response head (watching for the client leaving), relay the response, and return
//! the connection to the pool when the exchange ended cleanly. An upstream that
//! answers before taking the whole body gets its answer relayed, then the client's
//! connection closes (`request`).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::Instant;

use crate::config::{LoadBalancer, Server, ServersTransport};
use crate::http::codec::{BodyKind, RequestHead, ResponseHead, Version};
use crate::http::error::{self, Attempt, Blame, ProxyError, Retry};
use crate::http::forward::{self, Forwarding, ResponseFraming};
use crate::http::server::{ClientIo, Conn, INLINE_BODY_MAX, Outcome, ReqState};
use crate::net::upstream::{self, UpstreamConn};
use crate::runtime::io::{self, IoFail};
use crate::service::wrr::Wrr;

mod request;
mod response;

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

pub async fn forward<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    lb: &LoadBalancer,
    wrr: &RefCell<Wrr>,
) -> Outcome {
    // Servers the prober marked down are skipped; none up is a 503.
    let picked = wrr.borrow_mut().pick_up(|i| lb.servers[i].health.is_up());
    c.rec.server = picked;
    let Some(server) = picked.map(|i| &lb.servers[i]) else {
        return c.fail(Some(head), ProxyError::NoServer).await;
    };
    match exchange(c, head, lb, server).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // An upstream failure while the client's body was still coming: the
            // error goes out, then a lingering close, so that the unread body
            // does not turn the close into a reset that destroys the response.
            let linger =
                c.req == ReqState::Broken && e.blame() == Blame::Upstream && !c.response_started;
            let outcome = c.fail(Some(head), e).await;
            if linger {
                c.linger().await;
            }
            outcome
        }
    }
}

/// The request body travels in the head's write when it is small and already here.
fn inline_body(head: &RequestHead, buffered: usize) -> Option<usize> {
    match head.body {
        BodyKind::None => Some(0),
        BodyKind::Length(n)
            if n as usize <= INLINE_BODY_MAX && head.head_len + n as usize <= buffered =>
        {
            Some(n as usize)
        }
        _ => None,
    }
}

fn idempotent(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}

async fn exchange<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    lb: &LoadBalancer,
    server: &Server,
) -> Result<Outcome, ProxyError> {
    let fw = Forwarding {
        host_override: (!lb.pass_host_header).then_some(server.authority.as_str()),
        default_host: &server.authority,
        path_prefix: &server.path_prefix,
        client_ip: c.client_ip.as_str(),
        trusted: c.trusted,
        proto: if c.tls { "https" } else { "http" },
        port: &c.ep.port_text,
        hostname: &c.w.hostname,
        upgrade: head.upgrade,
        edits: &c.edits,
    };
    forward::write_request_head(&mut c.out, &c.buf, head, &c.headers, &fw);
    let inline = inline_body(head, c.buf.len());
    let replayable = inline.is_some() && idempotent(head.method.get(&c.buf));
    if let Some(n) = inline {
        c.out
            .extend_from_slice(&c.buf[head.head_len..head.head_len + n]);
        io::consume(&mut c.buf, head.head_len + n);
        c.req = ReqState::Consumed;
    }
    // From here on the head's spans no longer point at its bytes; only its flags are used.
    let t = &lb.transport;
    let leg = Leg {
        addr: server.addr,
        t,
    };
    let mut retried = false;
    let (mut up, resp) = loop {
        let mut up = match c.w.pool.checkout(server.addr) {
            Some(up) => up,
            None => upstream::dial(server.addr, t.dial_timeout).await?,
        };
        let mut answered = false;
        let e = match send_and_wait(c, head, &mut up, inline.is_some(), leg, &mut answered).await {
            Ok(resp) => break (up, resp),
            Err(e) => e,
        };
        let attempt = Attempt {
            reused: up.reused,
            // A partial response head counts as much as an interim one.
            answered: answered || !up.buf.is_empty(),
            replayable: replayable || c.req == ReqState::Untouched,
            retried,
        };
        if error::retry(&e, &attempt) == Retry::Never {
            return Err(e);
        }
        log::debug!(
            "stale pooled connection to {} ({e}): retrying on a fresh one",
            server.addr
        );
        retried = true;
        c.rec.retries += 1;
    };
    if resp.status == 101 {
        return response::switch_protocols(c, head, up, &resp).await;
    }
    let outcome = response::relay(c, head, &mut up, &resp, leg).await?;
    if c.req != ReqState::Consumed {
        // The upstream answered before taking the whole body (`request`): its
        // connection is mid-request, and the client's still has body bytes coming.
        drop(up);
        c.linger().await;
        return Ok(outcome);
    }
    if !resp.close && resp.body != BodyKind::UntilClose && up.buf.is_empty() {
        c.w.pool.checkin(
            server.addr,
            up,
            t.max_idle_conns_per_host,
            t.idle_conn_timeout,
        );
    }
    Ok(outcome)
}

/// Sends the head (already in `c.out`) and the body, then reads the final response
/// head, forwarding interim 1xx responses to HTTP/1.1 clients. `answered` is set
/// once an interim response came (the retry decision needs it).
async fn send_and_wait<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    up: &mut UpstreamConn,
    inline: bool,
    leg: Leg<'_>,
    answered: &mut bool,
) -> Result<ResponseHead, ProxyError> {
    io::write_vec(&mut up.stream, &mut c.out, leg.write_deadline())
        .await
        .map_err(|e| match e {
            IoFail::Io(e) => ProxyError::UpstreamIo(e),
            IoFail::Timeout => ProxyError::UpstreamWriteTimeout(leg.addr),
        })?;
    if !inline {
        request::stream_body(c, head, up, leg).await?;
    }
    let deadline = leg.t.response_header_timeout.map(|d| Instant::now() + d);
    loop {
        let resp = response::read_head(c, up, head.is_head, leg, deadline).await?;
        if resp.status >= 200 || resp.status == 101 {
            return Ok(resp);
        }
        *answered = true;
        if head.version == Version::Http11 {
            c.out.clear();
            forward::write_response_head(
                &mut c.out,
                &up.buf,
                &resp,
                &c.resp_headers,
                &interim(),
                None,
            );
            let deadline = c.write_deadline();
            io::write_vec(&mut c.io, &mut c.out, deadline)
                .await
                .map_err(|_| ProxyError::ClientClosed)?;
        }
        io::consume(&mut up.buf, resp.head_len);
    }
}

fn interim() -> ResponseFraming {
    ResponseFraming {
        dechunk: false,
        close: false,
        keep_alive_10: false,
    }
}
