//! `buffering`'s pieces that do not depend on the client's protocol, used
//! by the HTTP/1.1 connection (`server/buffered.rs`) and the HTTP/2 stream
//! (`h2/buffered.rs`) alike: the limit on a request body, reading a response
//! body whole into a [`Spool`] before anything of it goes out, and the
//! `retryExpression` replay decision. (A request body is spooled by the plan
//! in `http::keep`, which also serves `retry` and failover `errors`.)

use crate::http::body::{Relay, RelayError};
use crate::http::codec::ResponseHead;
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::spool::{Spool, SpoolSink};
use crate::middleware::{Buffering, Edits, HeaderOp};
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::IoFail;

/// The request body's limit: the middleware's and the entry point's, the
/// smaller when both are set.
pub fn request_limit(b: &Buffering, entry_point: Option<u64>) -> Option<u64> {
    match (b.max_request_body_bytes, entry_point) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Reads the response body (after the head at the front of `up.buf`) whole
/// into a spool: past `maxResponseBodyBytes` it is `ResponseTooLarge` (500).
/// Returns the spool and what followed the body; `up.buf` keeps the head.
/// `body_error` maps the other failures as the caller's protocol does.
pub async fn read_response(
    resp: &ResponseHead,
    up: &mut UpstreamConn,
    from: Source,
    b: &Buffering,
    body_error: impl FnOnce(RelayError) -> ProxyError,
) -> Result<(Spool, Vec<u8>), ProxyError> {
    let max = b.max_response_body_bytes;
    if let (crate::http::codec::BodyKind::Length(n), Some(max)) = (resp.body, max)
        && n > max
    {
        return Err(ProxyError::ResponseTooLarge);
    }
    let mut spool = Spool::new(b.mem_response_body_bytes, max);
    let mut rest = up.buf.split_off(resp.head_len);
    let relay = Relay {
        kind: resp.body,
        dechunk: true,
        read_timeout: from.read_timeout,
        write_timeout: None,
    };
    let read = relay
        .run(&mut up.stream, &mut rest, &mut SpoolSink(&mut spool))
        .await;
    match read {
        Ok(_) => Ok((spool, rest)),
        Err(RelayError::TooLarge) => Err(ProxyError::ResponseTooLarge),
        Err(RelayError::Write(IoFail::Io(e))) => {
            log::error!("buffering: cannot write a response body to a temporary file: {e}");
            Err(ProxyError::Internal("temporary file"))
        }
        Err(e) => Err(body_error(e)),
    }
}

/// The head of a response read whole: its length replaces the upstream's
/// framing (a response edit, so it is written like any other).
pub fn sized_head(resp: &ResponseHead, spool: &Spool, edits: &mut Edits) -> ResponseHead {
    let mut framed = resp.clone();
    framed.drop_content_length = true;
    let length = itoa::Buffer::new().format(spool.len()).to_owned();
    edits.response_header(HeaderOp::Set, b"Content-Length", length.as_bytes());
    framed
}

/// Whether `retryExpression` sends the request again after attempt
/// `attempt` ended with `status`: only while nothing reached the client
/// (a buffering request is forwarded only once whole).
pub fn replays(edits: &Edits, response_started: bool, attempt: u32, status: u16) -> bool {
    !response_started && edits.buffering().is_some_and(|b| b.replay(attempt, status))
}
