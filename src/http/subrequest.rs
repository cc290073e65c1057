//! One request the proxy makes on its own behalf (forwardAuth's call to the
//! authentication server), from the worker that serves the client and over
//! the worker's upstream pool: a pooled connection to the address (and TLS
//! target, for an https one) when one is idle, else a fresh dial; the whole exchange bounded by one deadline,
//! never blocking the worker. The answer is read whole (its body bounded),
//! de-chunked, and the connection goes back to the pool when the exchange
//! ended cleanly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::{BodyKind, HeadParser, HeaderSpan, ParseError, ResponseHead};
use crate::net::upstream::{self, DialError, MAX_RESPONSE_HEAD, Pool, PoolKey, UpstreamConn};
use crate::net::upstream_tls::TlsTarget;
use crate::runtime::io::{self, IoFail};

/// Idle connections kept per sub-request address, per worker.
const MAX_IDLE: usize = 8;
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Why a sub-request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum SubError {
    #[error("connect: {0}")]
    Dial(#[from] DialError),
    #[error("i/o: {0}")]
    Io(std::io::Error),
    #[error("no answer in time")]
    Timeout,
    #[error("closed before a complete answer")]
    Closed,
    #[error("invalid answer: {0}")]
    Invalid(ParseError),
    #[error("invalid answer body: {0}")]
    BadBody(crate::http::codec::ChunkError),
    #[error("answer body larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Unreachable(String),
}

impl From<IoFail> for SubError {
    fn from(e: IoFail) -> Self {
        match e {
            IoFail::Io(e) => SubError::Io(e),
            IoFail::Timeout => SubError::Timeout,
        }
    }
}

/// A complete answer: the head's bytes (spans in `fields` point into
/// `head`), and the body, de-chunked.
pub struct SubResponse {
    pub status: u16,
    pub head: Vec<u8>,
    pub fields: Vec<HeaderSpan>,
    pub body: Vec<u8>,
}

impl SubResponse {
    /// Every field as (name, value).
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|f| (f.name.get(&self.head), f.value.get(&self.head)))
    }
}

/// Sends `request` (a complete HTTP/1.1 request: head and body) to `to` (an
/// address, and the TLS target when it is https) and reads the answer within `timeout`; a body over `max_body` bytes is
/// [`SubError::TooLarge`]. `head_request`: the request's method was HEAD.
pub async fn call(
    pool: &Pool,
    to: (SocketAddr, Option<&TlsTarget>),
    request: &mut Vec<u8>,
    head_request: bool,
    max_body: Option<u64>,
    timeout: Duration,
) -> Result<SubResponse, SubError> {
    let deadline = Instant::now() + timeout;
    let (addr, tls) = to;
    let key = upstream::pool_key(addr, tls);
    // A pooled connection may have died while idle: one fresh try after a
    // failure with no answer byte, as for proxied requests.
    if let Some(up) = pool.checkout(key) {
        match exchange(pool, key, up, request, head_request, max_body, deadline).await {
            Err((SubError::Io(_) | SubError::Closed, false)) => {}
            other => return other.map_err(|(e, _)| e),
        }
    }
    let up = upstream::dial_tls(addr, timeout, tls).await?;
    exchange(pool, key, up, request, head_request, max_body, deadline)
        .await
        .map_err(|(e, _)| e)
}

/// One attempt; the error says whether any answer byte came.
async fn exchange(
    pool: &Pool,
    key: PoolKey,
    mut up: UpstreamConn,
    request: &mut Vec<u8>,
    head_request: bool,
    max_body: Option<u64>,
    deadline: Instant,
) -> Result<SubResponse, (SubError, bool)> {
    io::write_vec(&mut up.stream, request, Some(deadline))
        .await
        .map_err(|e| (e.into(), false))?;
    let mut fields = Vec::new();
    let resp = read_head(&mut up, head_request, deadline, &mut fields).await?;
    let head = up.buf[..resp.head_len].to_vec();
    io::consume(&mut up.buf, resp.head_len);
    let mut sink = Bounded {
        body: Vec::new(),
        max: max_body,
    };
    let relay = Relay {
        kind: resp.body,
        dechunk: true,
        read_timeout: Some(deadline.saturating_duration_since(Instant::now())),
        write_timeout: None,
    };
    relay
        .run(&mut up.stream, &mut up.buf, &mut sink)
        .await
        .map_err(|e| (body_error(e, max_body), true))?;
    if !resp.close && resp.body != BodyKind::UntilClose && up.buf.is_empty() {
        pool.checkin(key, up, MAX_IDLE, IDLE_TIMEOUT);
    }
    Ok(SubResponse {
        status: resp.status,
        head,
        fields,
        body: sink.body,
    })
}

/// Reads the final response head (interim 1xx answers are skipped).
async fn read_head(
    up: &mut UpstreamConn,
    head_request: bool,
    deadline: Instant,
    fields: &mut Vec<HeaderSpan>,
) -> Result<ResponseHead, (SubError, bool)> {
    let mut parser = HeadParser::new();
    loop {
        if !up.buf.is_empty() {
            match parser.parse_response(&up.buf, MAX_RESPONSE_HEAD, head_request, fields) {
                Ok(Some(resp)) if resp.status < 200 && resp.status != 101 => {
                    io::consume(&mut up.buf, resp.head_len);
                    continue;
                }
                Ok(Some(resp)) => return Ok(resp),
                Ok(None) => {}
                Err(e) => return Err((SubError::Invalid(e), true)),
            }
        }
        if !io::reserve_up_to(&mut up.buf, 4096, MAX_RESPONSE_HEAD) {
            return Err((SubError::Invalid(ParseError::TooLarge), true));
        }
        let answered = !up.buf.is_empty();
        let n = io::read_some(&mut up.stream, &mut up.buf, usize::MAX, Some(deadline))
            .await
            .map_err(|e| (e.into(), answered))?;
        if n == 0 {
            return Err((SubError::Closed, answered));
        }
    }
}

fn body_error(e: RelayError, max: Option<u64>) -> SubError {
    match e {
        RelayError::Read(e) => e.into(),
        RelayError::Eof => SubError::Closed,
        RelayError::Invalid(e) => SubError::BadBody(e),
        RelayError::Write(_) | RelayError::Stopped | RelayError::TooLarge => {
            SubError::TooLarge(max.unwrap_or(0))
        }
    }
}

/// Collects a body in memory, refusing more than `max` bytes.
struct Bounded {
    body: Vec<u8>,
    max: Option<u64>,
}

impl Sink for Bounded {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        _deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        if self.max.is_some_and(|m| (self.body.len() + len) as u64 > m) {
            return Err(RelayError::Stopped);
        }
        self.body.extend_from_slice(&buf[..len]);
        Ok(())
    }

    fn watch(&self) -> impl Future<Output = ()> {
        std::future::pending()
    }
}
