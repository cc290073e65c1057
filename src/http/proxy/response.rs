//! Reading the upstream's response head, watching for the client leaving while
//! the upstream is slow. `responseHeaderTimeout` bounds the whole head, else
//! `readTimeout` each silence. Passing the response on is the downstream's
//! (`Downstream::send_response`).

use std::time::Instant;

use super::Leg;
use crate::http::codec::{ParseError, ResponseHead};
use crate::http::downstream::Downstream;
use crate::http::error::ProxyError;
use crate::net::upstream::{MAX_RESPONSE_HEAD, UpstreamConn};
use crate::runtime::io::{self, IoFail};

/// Reads one response head. `whole` is the `responseHeaderTimeout` deadline; when
/// there is none, each read has `readTimeout`.
pub(super) async fn read_head<D: Downstream>(
    d: &mut D,
    up: &mut UpstreamConn,
    head_request: bool,
    leg: Leg<'_>,
    whole: Option<Instant>,
) -> Result<ResponseHead, ProxyError> {
    d.response_parser().0.reset();
    loop {
        if !up.buf.is_empty() {
            let (parser, fields) = d.response_parser();
            match parser.parse_response(&up.buf, MAX_RESPONSE_HEAD, head_request, fields) {
                Ok(Some(resp)) => return Ok(resp),
                Ok(None) => {}
                Err(e) => return Err(ProxyError::UpstreamInvalid(e)),
            }
        }
        if !io::reserve_up_to(&mut up.buf, 4096, MAX_RESPONSE_HEAD) {
            return Err(ProxyError::UpstreamInvalid(ParseError::TooLarge));
        }
        let n = read_watching_client(&*d, up, leg.read_deadline(whole))
            .await
            .map_err(|e| match e {
                IoFail::Io(e) => ProxyError::UpstreamIo(e),
                IoFail::Timeout if whole.is_some() => ProxyError::UpstreamTimeout,
                IoFail::Timeout => ProxyError::UpstreamReadTimeout(leg.addr),
            })?
            .ok_or(ProxyError::ClientClosed)?;
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
/// slow, also watches the client: `Ok(None)` when it left (499, the exchange is
/// abandoned).
async fn read_watching_client<D: Downstream>(
    client: &D,
    up: &mut UpstreamConn,
    deadline: Option<Instant>,
) -> Result<Option<usize>, IoFail> {
    let read = io::read_some(&mut up.stream, &mut up.buf, usize::MAX, deadline);
    io::watched(read, || client.gone()).await.transpose()
}
