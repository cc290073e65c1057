//! One probe of one server: connect, send the request, read the response head
//! (skipping interim 1xx answers), follow redirects when asked, and judge the
//! status as Traefik does: the configured one, or any 2xx or 3xx. The whole
//! probe, redirects included, is bounded by the health check's `timeout`.
//! The body is never read: the connection closes once the head is in.

use std::time::Duration;

use super::target::{Request, Spec};
use crate::http::codec::{HeadParser, HeaderSpan, ParseError};
use crate::net::upstream::{self, DialError, MAX_RESPONSE_HEAD};
use crate::net::upstream_tls::UpStream;
use crate::runtime::io;

/// Go's client gives up after this many redirects.
const MAX_REDIRECTS: usize = 10;
/// Room kept free for each read; the buffer grows up to [`MAX_RESPONSE_HEAD`].
const READ_BUF: usize = 4096;

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

/// The status of a healthy answer, or why the server is down.
pub async fn check(spec: &Spec) -> Result<u16, ProbeError> {
    let limit = spec.check.timeout;
    // Dropping the probe on timeout is safe here: the connect runs in a task of
    // its own (`upstream::dial`), and the stream and buffers are only the probe's.
    match monoio::time::timeout(limit, follow(spec)).await {
        Ok(verdict) => verdict,
        Err(_) => Err(ProbeError::Timeout(limit)),
    }
}

async fn follow(spec: &Spec) -> Result<u16, ProbeError> {
    let mut req = spec.first.clone();
    // The server's current address (its port may be the check's `port`).
    let Some(now) = spec.server.get() else {
        return Err(ProbeError::Unresolved);
    };
    req.addr.set_ip(now.ip());
    for _ in 0..=MAX_REDIRECTS {
        let (status, location) = exchange(spec, &req).await?;
        let next = if spec.check.follow_redirects {
            req.redirect(status, &location)
                .map_err(ProbeError::Redirect)?
        } else {
            None
        };
        match next {
            Some(n) => req = n,
            None => return judge(status, spec.check.status),
        }
    }
    Err(ProbeError::Redirect(format!(
        "stopped after {MAX_REDIRECTS} redirects"
    )))
}

fn judge(status: u16, want: Option<u16>) -> Result<u16, ProbeError> {
    match want {
        None if (200..400).contains(&status) => Ok(status),
        None => Err(ProbeError::Status(status)),
        Some(want) if want == status => Ok(status),
        Some(want) => Err(ProbeError::Unexpected { got: status, want }),
    }
}

/// One request on a fresh connection: the final status and `Location` ("" if none).
async fn exchange(spec: &Spec, req: &Request) -> Result<(u16, String), ProbeError> {
    let dial = spec.dial_timeout.min(spec.check.timeout);
    let up = upstream::dial_tls(req.addr, dial, spec.tls.as_deref()).await?;
    let (mut stream, mut buf) = (up.stream, up.buf);
    req.encode(&spec.check, &mut buf);
    io::write_vec(&mut stream, &mut buf, None).await?;
    buf.clear();
    read_final_head(&mut stream, &mut buf, req.method == "HEAD").await
}

/// Reads into `buf` (empty, with the dialed connection's capacity).
async fn read_final_head(
    stream: &mut UpStream,
    buf: &mut Vec<u8>,
    is_head: bool,
) -> Result<(u16, String), ProbeError> {
    let mut parser = HeadParser::new();
    let mut headers: Vec<HeaderSpan> = Vec::new();
    loop {
        if let Some(resp) = parser.parse_response(buf, MAX_RESPONSE_HEAD, is_head, &mut headers)? {
            // Interim answers (100, 103) come before the real one; 101 is final.
            if resp.status < 200 && resp.status != 101 {
                io::consume(buf, resp.head_len);
                continue;
            }
            let location = headers
                .iter()
                .find(|h| h.name.get(buf).eq_ignore_ascii_case(b"location"))
                .map(|h| String::from_utf8_lossy(h.value.get(buf)).trim().to_string())
                .unwrap_or_default();
            return Ok((resp.status, location));
        }
        if !io::reserve_up_to(buf, READ_BUF, MAX_RESPONSE_HEAD + 1) {
            return Err(ProbeError::Invalid(ParseError::TooLarge));
        }
        if io::read_some(stream, buf, usize::MAX, None).await? == 0 {
            return Err(ProbeError::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_judged_as_traefik_does() {
        assert_eq!(judge(200, None).unwrap(), 200);
        assert_eq!(judge(302, None).unwrap(), 302);
        assert!(matches!(judge(199, None), Err(ProbeError::Status(199))));
        assert!(matches!(judge(404, None), Err(ProbeError::Status(404))));
        assert_eq!(judge(418, Some(418)).unwrap(), 418);
        assert!(matches!(
            judge(200, Some(204)),
            Err(ProbeError::Unexpected {
                got: 200,
                want: 204
            })
        ));
    }
}
