//! Forwarding one request to a load-balanced upstream: pick a server, take a pooled
//! connection or dial one, send the rewritten head and stream the body, wait for the
//! response head (watching for the client leaving), relay the response, and return
//! the connection to the pool when the exchange ended cleanly.

use std::cell::RefCell;
use std::pin::pin;
use std::time::{Duration, Instant};

use crate::config::{LoadBalancer, Server};
use crate::http::body::{Relay, RelayError};
use crate::http::codec::{BodyKind, ParseError, RequestHead, ResponseHead, Version};
use crate::http::error::ProxyError;
use crate::http::forward::{self, Forwarding, ResponseFraming};
use crate::http::io::{self, IoFail};
use crate::http::server::{ClientIo, Conn, INLINE_BODY_MAX, Outcome, ReqState};
use crate::http::upstream::{self, MAX_RESPONSE_HEAD, UpstreamConn};
use crate::service::wrr::Wrr;

/// A response this slow makes us start watching whether the client is still there.
const WATCH_CLIENT_AFTER: Duration = Duration::from_millis(50);

const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

pub async fn forward<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    lb: &LoadBalancer,
    wrr: &RefCell<Wrr>,
) -> Outcome {
    let picked = wrr.borrow_mut().pick();
    c.rec.server = picked;
    let Some(server) = picked.map(|i| &lb.servers[i]) else {
        return c.fail(Some(head), ProxyError::NoServer).await;
    };
    match exchange(c, head, lb, server).await {
        Ok(outcome) => outcome,
        Err(e) => c.fail(Some(head), e).await,
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
        path_prefix: &server.path_prefix,
        client_ip: c.client_ip.as_str(),
        trusted: c.trusted,
        proto: if c.tls { "https" } else { "http" },
        port: &c.ep.port_text,
        hostname: &c.w.hostname,
        upgrade: head.upgrade,
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
    let mut retried = false;
    let (mut up, resp) = loop {
        let mut up = match c.w.pool.checkout(server.addr) {
            Some(up) => up,
            None => upstream::dial(server.addr, t.dial_timeout).await?,
        };
        match send_and_wait(
            c,
            head,
            &mut up,
            inline.is_some(),
            t.response_header_timeout,
        )
        .await
        {
            Ok(resp) => break (up, resp),
            // Safe to send again: an idempotent request we still hold whole, or any
            // request whose body has not started to flow (the head write failed).
            Err(e)
                if up.reused
                    && !retried
                    && e.retry_safe()
                    && (replayable || c.req == ReqState::Untouched) =>
            {
                log::debug!(
                    "stale pooled connection to {} ({e}): retrying on a fresh one",
                    server.addr
                );
                retried = true;
                c.rec.retries += 1;
            }
            Err(e) => return Err(e),
        }
    };
    if resp.status == 101 {
        return switch_protocols(c, head, up, &resp).await;
    }
    let outcome = relay_response(c, head, &mut up, &resp).await?;
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
/// head, forwarding interim 1xx responses to HTTP/1.1 clients.
async fn send_and_wait<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    up: &mut UpstreamConn,
    inline: bool,
    header_timeout: Option<Duration>,
) -> Result<ResponseHead, ProxyError> {
    io::write_vec(&mut up.stream, &mut c.out, None)
        .await
        .map_err(|e| match e {
            IoFail::Io(e) => ProxyError::UpstreamReset(e),
            IoFail::Timeout => ProxyError::UpstreamTimeout,
        })?;
    if !inline {
        stream_request_body(c, head, up).await?;
    }
    let deadline = header_timeout.map(|d| Instant::now() + d);
    let mut interim_sent = false;
    loop {
        let resp = read_response_head(c, up, head.is_head, deadline)
            .await
            .map_err(|e| match e {
                // The client already saw part of this exchange: never replay it.
                ProxyError::UpstreamClosed if interim_sent => {
                    ProxyError::UpstreamIo(std::io::ErrorKind::UnexpectedEof.into())
                }
                ProxyError::UpstreamReset(e) if interim_sent => ProxyError::UpstreamIo(e),
                e => e,
            })?;
        if resp.status >= 200 || resp.status == 101 {
            return Ok(resp);
        }
        if head.version == Version::Http11 {
            c.out.clear();
            forward::write_response_head(&mut c.out, &up.buf, &resp, &c.resp_headers, &interim());
            let deadline = c.write_deadline();
            io::write_vec(&mut c.io, &mut c.out, deadline)
                .await
                .map_err(|_| ProxyError::ClientClosed)?;
            interim_sent = true;
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

async fn stream_request_body<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    up: &mut UpstreamConn,
) -> Result<(), ProxyError> {
    io::consume(&mut c.buf, head.head_len);
    c.req = ReqState::Broken;
    if head.expect_continue {
        let deadline = c.write_deadline();
        io::write_static(&mut c.io, CONTINUE_100, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
    }
    let relay = Relay {
        kind: head.body,
        dechunk: false,
        read_timeout: c.ep.cfg.read_timeout,
        write_timeout: None,
    };
    let sent = relay
        .run(&mut c.io, &mut c.buf, &mut up.stream)
        .await
        .map_err(|e| match e {
            RelayError::Read(IoFail::Timeout) => ProxyError::RequestTimeout,
            RelayError::Read(_) | RelayError::Eof => ProxyError::ClientClosed,
            RelayError::Write(IoFail::Io(e)) => ProxyError::UpstreamIo(e),
            RelayError::Write(IoFail::Timeout) => ProxyError::UpstreamTimeout,
            RelayError::Invalid(e) => ProxyError::BadBody(e),
        })?;
    if head.body == BodyKind::Chunked {
        c.rec.req_bytes += sent;
    }
    c.req = ReqState::Consumed;
    Ok(())
}

async fn read_response_head<S: ClientIo>(
    c: &mut Conn<S>,
    up: &mut UpstreamConn,
    head_request: bool,
    deadline: Option<Instant>,
) -> Result<ResponseHead, ProxyError> {
    c.parser.reset();
    loop {
        if !up.buf.is_empty() {
            match c.parser.parse_response(
                &up.buf,
                MAX_RESPONSE_HEAD,
                head_request,
                &mut c.resp_headers,
            ) {
                Ok(Some(resp)) => return Ok(resp),
                Ok(None) => {}
                Err(e) => return Err(ProxyError::UpstreamInvalid(e)),
            }
        }
        if !io::reserve_up_to(&mut up.buf, 4096, MAX_RESPONSE_HEAD) {
            return Err(ProxyError::UpstreamInvalid(ParseError::TooLarge));
        }
        let first_bytes = up.buf.is_empty();
        let n = read_watching_client(&c.io, up, deadline)
            .await
            .map_err(|e| match e {
                ProxyError::UpstreamIo(e) if first_bytes => ProxyError::UpstreamReset(e),
                e => e,
            })?;
        if n == 0 {
            return Err(if up.buf.is_empty() {
                ProxyError::UpstreamClosed
            } else {
                ProxyError::UpstreamInvalid(ParseError::Invalid("response head cut short"))
            });
        }
    }
}

/// One read from the upstream. Answers fast in the common case; when the upstream is
/// slow, also watches the client so a departed client abandons the exchange (499).
async fn read_watching_client<S: ClientIo>(
    client: &S,
    up: &mut UpstreamConn,
    deadline: Option<Instant>,
) -> Result<usize, ProxyError> {
    let mut read = pin!(io::read_some(
        &mut up.stream,
        &mut up.buf,
        usize::MAX,
        deadline
    ));
    let first = monoio::select! {
        biased;
        r = &mut read => Some(r),
        // The worker's coarse deadline, not a 640-byte monoio timer armed on
        // every proxied request; 25 ms of slack does not matter here.
        _ = crate::worker::clock::deadline(Instant::now() + WATCH_CLIENT_AFTER) => None,
    };
    let result = match first {
        Some(r) => r,
        None => monoio::select! {
            biased;
            r = &mut read => r,
            _ = client.peer_closed() => return Err(ProxyError::ClientClosed),
        },
    };
    match result {
        Ok(n) => Ok(n),
        Err(IoFail::Timeout) => Err(ProxyError::UpstreamTimeout),
        Err(IoFail::Io(e)) => Err(ProxyError::UpstreamIo(e)),
    }
}

/// Forwards a `101 Switching Protocols` and hands both connections to the tunnel.
/// A 101 the client did not ask for is a broken upstream.
async fn switch_protocols<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    mut up: UpstreamConn,
    resp: &ResponseHead,
) -> Result<Outcome, ProxyError> {
    if !head.upgrade || c.req != ReqState::Consumed {
        return Err(ProxyError::UpstreamInvalid(ParseError::Invalid(
            "unsolicited 101 response",
        )));
    }
    c.out.clear();
    forward::write_response_head(&mut c.out, &up.buf, resp, &c.resp_headers, &interim());
    io::consume(&mut up.buf, resp.head_len);
    c.response_started = true;
    (c.rec.status, c.rec.origin_status) = (101, 101);
    let deadline = c.write_deadline();
    io::write_vec(&mut c.io, &mut c.out, deadline)
        .await
        .map_err(|_| ProxyError::ClientClosed)?;
    Ok(Outcome::Tunnel(up))
}

async fn relay_response<S: ClientIo>(
    c: &mut Conn<S>,
    head: &RequestHead,
    up: &mut UpstreamConn,
    resp: &ResponseHead,
) -> Result<Outcome, ProxyError> {
    let http10 = head.version == Version::Http10;
    let dechunk = http10 && resp.body == BodyKind::Chunked;
    let close = head.close
        || c.w.shutdown.is_fired()
        || resp.body == BodyKind::UntilClose
        || dechunk
        || c.req != ReqState::Consumed;
    let framing = ResponseFraming {
        dechunk,
        close,
        keep_alive_10: http10 && !close,
    };
    c.out.clear();
    forward::write_response_head(&mut c.out, &up.buf, resp, &c.resp_headers, &framing);
    io::consume(&mut up.buf, resp.head_len);
    let mut body = resp.body;
    if let BodyKind::Length(n) = body {
        // The body bytes that came with the head go out in the same write (up to
        // INLINE_BODY_MAX): a 16 KiB response then costs one client write for the
        // head and most of its body, not one for each.
        let inline = (n as usize).min(up.buf.len()).min(INLINE_BODY_MAX);
        c.out.extend_from_slice(&up.buf[..inline]);
        io::consume(&mut up.buf, inline);
        c.rec.resp_bytes = inline as u64;
        body = BodyKind::Length(n - inline as u64);
    }
    let body_done = matches!(body, BodyKind::None | BodyKind::Length(0));
    c.response_started = true;
    (c.rec.status, c.rec.origin_status) = (resp.status, resp.status);
    let deadline = c.write_deadline();
    io::write_vec(&mut c.io, &mut c.out, deadline)
        .await
        .map_err(|_| ProxyError::ClientClosed)?;
    if !body_done {
        let relay = Relay {
            kind: body,
            dechunk,
            read_timeout: None,
            write_timeout: c.ep.cfg.write_timeout,
        };
        c.rec.resp_bytes += relay
            .run(&mut up.stream, &mut up.buf, &mut c.io)
            .await
            .map_err(|e| match e {
                RelayError::Read(IoFail::Io(e)) => ProxyError::UpstreamIo(e),
                RelayError::Read(IoFail::Timeout) => ProxyError::UpstreamTimeout,
                RelayError::Eof => ProxyError::UpstreamClosed,
                RelayError::Write(_) => ProxyError::ClientClosed,
                RelayError::Invalid(e) => ProxyError::UpstreamBadBody(e),
            })?;
    }
    Ok(if close {
        Outcome::Close
    } else {
        Outcome::KeepAlive
    })
}
