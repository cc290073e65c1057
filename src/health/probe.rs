//! One HTTP probe of one server: send the request, read the response head
//! (skipping interim 1xx answers), follow redirects when asked, and judge the
//! status as Traefik does: the configured one, or any 2xx or 3xx. The whole
//! probe, redirects included, is bounded by the health check's `timeout`.
//!
//! The first request goes on the server's kept connection ([`Kept`]) when
//! there is one: probing 1,000 servers every second costs far less without
//! a TCP handshake (and a TIME_WAIT socket) per probe. A probe that fails on a
//! kept connection drops it and is tried once more on a fresh one, so "down"
//! still means that a new connection could not get a healthy answer.
//! The connection is kept only when the answer's body is skipped cheaply
//! (none, or a `Content-Length` of at most [`MAX_SKIPPED_BODY`]); a chunked,
//! larger or read-until-close body, or `Connection: close`, closes it.
use std::net::SocketAddr;
use std::time::Duration;

use super::target::{Request, Spec};
use crate::http::codec::{BodyKind, HeadParser, HeaderSpan, ParseError, ResponseHead};
use crate::net::upstream::{self, DialError, MAX_RESPONSE_HEAD, UpstreamConn};
use crate::net::upstream_tls::UpStream;
use crate::runtime::io;

/// Go's client gives up after this many redirects.
const MAX_REDIRECTS: usize = 10;
/// Room kept free for each read; the buffer grows up to [`MAX_RESPONSE_HEAD`].
/// A kept connection's buffer starts (and usually stays) at this size.
const READ_BUF: usize = 4096;
/// The largest response body read (and dropped) to keep the connection: a
/// health endpoint answers "ok" or a small JSON document.
pub const MAX_SKIPPED_BODY: u64 = 4096;

/// Why a server is down.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Dial(#[from] DialError),
    #[error("I/O error: {0}")]
    Io(std::io::Error),
    #[error("connection closed before a response head")]
    Closed,
    #[error("invalid response: {0}")]
    Invalid(#[from] ParseError),
    #[error("received status {0} (2xx or 3xx expected)")]
    Status(u16),
    #[error("received status {got}, expected {want}")]
    Unexpected { got: u16, want: u16 },
    #[error("{0}")]
    Redirect(String),
    #[error("its host name does not resolve")]
    Unresolved,
    #[error("gRPC health check failed: {0}")]
    Grpc(String),
    #[error("received gRPC status {0}")]
    NotServing(String),
}

/// What a healthy answer was, for the log line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Up {
    Status(u16),
    /// A gRPC `HealthCheckResponse` said SERVING.
    Serving,
}

impl std::fmt::Display for Up {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Up::Status(s) => write!(f, "status {s}"),
            Up::Serving => f.write_str("SERVING"),
        }
    }
}

impl From<io::IoFail> for ProbeError {
    fn from(e: io::IoFail) -> Self {
        match e {
            io::IoFail::Io(e) => ProbeError::Io(e),
            // No deadline is passed below: the whole probe has one.
            io::IoFail::Timeout => ProbeError::Closed,
        }
    }
}

/// What one server's probes keep between two probes: the connection to reuse
/// (with the address it goes to) and the parser's header list.
#[derive(Default)]
pub struct Kept {
    conn: Option<(SocketAddr, UpstreamConn)>,
    headers: Vec<HeaderSpan>,
}

impl Kept {
    /// Closes the kept connection (the probe's definition changed).
    pub fn close(&mut self) {
        self.conn = None;
    }

    /// The kept connection, if it goes to `addr` (a name may resolve anew).
    fn take(&mut self, addr: SocketAddr) -> Option<UpstreamConn> {
        match self.conn.take() {
            Some((a, conn)) if a == addr => Some(conn),
            _ => None,
        }
    }
}

impl ProbeError {
    /// The exchange broke (rather than the server answering badly): on a kept
    /// connection it may just have gone stale, so a fresh one is tried.
    pub(super) fn broke(&self) -> bool {
        matches!(
            self,
            ProbeError::Timeout(_)
                | ProbeError::Io(_)
                | ProbeError::Closed
                | ProbeError::Invalid(_)
        )
    }
}

/// The status of a healthy answer, or why the server is down.
pub async fn check(spec: &Spec, kept: &mut Kept) -> Result<Up, ProbeError> {
    let addr = address(spec).inspect_err(|_| kept.close())?;
    if let Some(conn) = kept.take(addr) {
        match bounded(spec, follow(spec, addr, Some(conn), kept)).await {
            Err(e) if e.broke() => log::debug!("health check of {addr}: kept connection: {e}"),
            // A failed probe (a bad status too) leaves no connection behind.
            verdict => return verdict.inspect_err(|_| kept.close()),
        }
    }
    // Boxed: a new connection is the rare path (the first probe, a failure),
    // and a second copy of the probe's state would double every probe's future.
    let verdict = Box::pin(bounded(spec, follow(spec, addr, None, kept))).await;
    verdict.inspect_err(|_| kept.close())
}

/// The server's current address (its port may be the check's `port`).
pub(super) fn address(spec: &Spec) -> Result<SocketAddr, ProbeError> {
    let now = spec.server.get().ok_or(ProbeError::Unresolved)?;
    let mut addr = spec.first.addr;
    addr.set_ip(now.ip());
    Ok(addr)
}

/// Bounds a probe by the check's `timeout`. Dropping it then is safe: the
/// connect runs in a task of its own (`upstream::dial`), and the stream and
/// buffers are only the probe's (a kept connection is dropped with it).
pub(super) async fn bounded<T>(
    spec: &Spec,
    probe: impl std::future::Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    let limit = spec.check.timeout;
    match monoio::time::timeout(limit, probe).await {
        Ok(verdict) => verdict,
        Err(_) => Err(ProbeError::Timeout(limit)),
    }
}

async fn follow(
    spec: &Spec,
    addr: SocketAddr,
    conn: Option<UpstreamConn>,
    kept: &mut Kept,
) -> Result<Up, ProbeError> {
    let (mut status, mut location) = first(spec, addr, conn, kept).await?;
    let mut req: Option<Request> = None;
    for _ in 0..MAX_REDIRECTS {
        let Some(to) = location.take() else {
            return judge(status, spec.check.status);
        };
        // Only a redirect needs the request as data (and a connection of its own).
        let from = req.get_or_insert_with(|| Request {
            addr,
            ..spec.first.clone()
        });
        let Some(next) = from.redirect(status, &to).map_err(ProbeError::Redirect)? else {
            return judge(status, spec.check.status);
        };
        // Boxed, as the dial: redirects are rare.
        (status, location) = Box::pin(exchange(spec, &next, &mut kept.headers)).await?;
        req = Some(next);
    }
    match location {
        None => judge(status, spec.check.status),
        Some(_) => Err(ProbeError::Redirect(format!(
            "stopped after {MAX_REDIRECTS} redirects"
        ))),
    }
}

fn judge(status: u16, want: Option<u16>) -> Result<Up, ProbeError> {
    match want {
        None if (200..400).contains(&status) => Ok(Up::Status(status)),
        None => Err(ProbeError::Status(status)),
        Some(want) if want == status => Ok(Up::Status(status)),
        Some(want) => Err(ProbeError::Unexpected { got: status, want }),
    }
}

/// A fresh connection for a probe, with a small buffer: a kept one holds it
/// between probes.
async fn dial(spec: &Spec, addr: SocketAddr) -> Result<UpstreamConn, ProbeError> {
    let dial = spec.transport.dial_timeout.min(spec.check.timeout);
    let mut up = upstream::dial_tls(addr, dial, spec.tls.as_deref()).await?;
    up.buf = Vec::with_capacity(READ_BUF);
    Ok(up)
}

/// The first request, on `conn` or a fresh connection, which is kept in
/// `kept` when the answer allows it. Returns the status and, for a redirect
/// to follow, its `Location`.
async fn first(
    spec: &Spec,
    addr: SocketAddr,
    conn: Option<UpstreamConn>,
    kept: &mut Kept,
) -> Result<(u16, Option<String>), ProbeError> {
    // Boxed: the dial (TLS included) is the rare path, and its large state
    // would otherwise be part of (and copied with) every probe's future.
    let mut up = match conn {
        Some(c) => c,
        None => Box::pin(dial(spec, addr)).await?,
    };
    up.buf.clear();
    up.buf.extend_from_slice(&spec.first_bytes);
    io::write_vec(&mut up.stream, &mut up.buf, None).await?;
    up.buf.clear();
    let is_head = spec.first.method == "HEAD";
    let resp = read_final_head(&mut up.stream, &mut up.buf, is_head, &mut kept.headers).await?;
    let location = location(spec, &resp, &up.buf, &kept.headers);
    // The verdict is the status: a body that cannot be skipped only costs
    // the connection.
    if matches!(skip_body(&mut up, &resp).await, Ok(true)) {
        kept.conn = Some((addr, up));
    }
    Ok((resp.status, location))
}

/// One redirected request on a connection of its own, closed after the head.
async fn exchange(
    spec: &Spec,
    req: &Request,
    headers: &mut Vec<HeaderSpan>,
) -> Result<(u16, Option<String>), ProbeError> {
    let mut up = dial(spec, req.addr).await?;
    req.encode(&spec.check, false, &mut up.buf);
    io::write_vec(&mut up.stream, &mut up.buf, None).await?;
    up.buf.clear();
    let resp = read_final_head(&mut up.stream, &mut up.buf, req.method == "HEAD", headers).await?;
    Ok((resp.status, location(spec, &resp, &up.buf, headers)))
}

/// The `Location` of a redirect the check follows ("" when it has none).
fn location(
    spec: &Spec,
    resp: &ResponseHead,
    buf: &[u8],
    headers: &[HeaderSpan],
) -> Option<String> {
    if !spec.check.follow_redirects || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let value = headers
        .iter()
        .find(|h| h.name.get(buf).eq_ignore_ascii_case(b"location"))
        .map(|h| String::from_utf8_lossy(h.value.get(buf)).trim().to_string());
    Some(value.unwrap_or_default())
}

/// Reads into `buf` (empty) until the final response head, which stays at
/// its front (followed by whatever body bytes came with it).
async fn read_final_head(
    stream: &mut UpStream,
    buf: &mut Vec<u8>,
    is_head: bool,
    headers: &mut Vec<HeaderSpan>,
) -> Result<ResponseHead, ProbeError> {
    let mut parser = HeadParser::new();
    loop {
        if let Some(resp) = parser.parse_response(buf, MAX_RESPONSE_HEAD, is_head, headers)? {
            // Interim answers (100, 103) come before the real one; 101 is final.
            if resp.status < 200 && resp.status != 101 {
                io::consume(buf, resp.head_len);
                continue;
            }
            return Ok(resp);
        }
        read_more(stream, buf, MAX_RESPONSE_HEAD + 1).await?;
    }
}

async fn read_more(stream: &mut UpStream, buf: &mut Vec<u8>, max: usize) -> Result<(), ProbeError> {
    if !io::reserve_up_to(buf, READ_BUF, max) {
        return Err(ProbeError::Invalid(ParseError::TooLarge));
    }
    if io::read_some(stream, buf, usize::MAX, None).await? == 0 {
        return Err(ProbeError::Closed);
    }
    Ok(())
}

/// Reads the body after the head in `up.buf`, if it is small and framed by
/// length. Returns whether the connection can carry the next probe.
async fn skip_body(up: &mut UpstreamConn, resp: &ResponseHead) -> Result<bool, ProbeError> {
    let len = match resp.body {
        _ if resp.close || resp.status == 101 => return Ok(false),
        BodyKind::None => 0,
        BodyKind::Length(n) if n <= MAX_SKIPPED_BODY => n as usize,
        BodyKind::Length(_) | BodyKind::Chunked | BodyKind::UntilClose => return Ok(false),
    };
    io::consume(&mut up.buf, resp.head_len);
    while up.buf.len() < len {
        read_more(&mut up.stream, &mut up.buf, len).await?;
    }
    // More than the body: the server sent what no request asked for.
    let clean = up.buf.len() == len;
    up.buf.clear();
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_judged_as_traefik_does() {
        assert_eq!(judge(200, None).unwrap(), Up::Status(200));
        assert_eq!(judge(302, None).unwrap(), Up::Status(302));
        assert!(matches!(judge(199, None), Err(ProbeError::Status(199))));
        assert!(matches!(judge(404, None), Err(ProbeError::Status(404))));
        assert_eq!(judge(418, Some(418)).unwrap(), Up::Status(418));
        assert!(matches!(
            judge(200, Some(204)),
            Err(ProbeError::Unexpected {
                got: 200,
                want: 204
            })
        ));
    }
}
