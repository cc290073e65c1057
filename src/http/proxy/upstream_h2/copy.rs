//! A mirror's copy to an `h2c://` server: the request the main server got
//! (its HTTP/1.1 head and whole body, as the mirror's `Tee` kept them) goes
//! as one stream on this worker's shared connections to the server (the
//! pool forwarding uses), and the answer is read to its end and thrown away,
//! its window released as it comes so the server is never stalled by it.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::pool::{self, Dialed};
use super::request::{self, StreamSink};
use super::stream_error;
use crate::config::ServersTransport;
use crate::http::body::Sink;
use crate::http::error::ProxyError;
use crate::net::h2_body::h2_io_error;
use crate::net::upstream;
use crate::runtime::io as rio;

/// Sends `copy` to the h2c server at `addr`, all of it done by `end`; each
/// read of the answer waits at most `read`.
pub async fn send(
    addr: SocketAddr,
    t: &ServersTransport,
    mut copy: Vec<u8>,
    end: Instant,
    read: Option<Duration>,
) -> Result<(), ProxyError> {
    let (req, body_at, chunked) = request::build(&copy, "http")?;
    let mut body = copy.split_off(body_at);
    drop(copy);
    let key = upstream::pool_key(addr, None);
    let slot = match pool::get(key, t.max_idle_conns_per_host) {
        Some(slot) => slot,
        None => match pool::dial(key, t, None).await? {
            Dialed::H2(slot) => slot,
            Dialed::H1(_) => return Err(ProxyError::Internal("h2c dial without HTTP/2")),
        },
    };
    let mut sender = slot.send.clone();
    let ready = rio::until(Some(end), poll_fn(|cx| sender.poll_ready(cx))).await;
    let timeout = |_| ProxyError::UpstreamTimeout;
    let fail = |e| {
        slot.kill();
        stream_error(e)
    };
    ready.map_err(timeout)?.map_err(fail)?;
    let (response, mut send) = sender.send_request(req, body.is_empty()).map_err(fail)?;
    if !body.is_empty() {
        let mut sink = StreamSink::new(&mut send, chunked, false);
        let len = body.len();
        sink.write(&mut body, len, Some(end))
            .await
            .map_err(|_| ProxyError::UpstreamClosed)?;
        drop(sink);
        send.send_data(Bytes::new(), true)
            .map_err(|e| ProxyError::UpstreamIo(h2_io_error(e)))?;
    }
    let response = rio::until(Some(end), response).await.map_err(timeout)?;
    let mut recv = response.map_err(stream_error)?.into_body();
    loop {
        let deadline = read.map_or(end, |r| end.min(Instant::now() + r));
        match rio::until(Some(deadline), poll_fn(|cx| recv.poll_data(cx))).await {
            Ok(Some(Ok(data))) => {
                let _ = recv.flow_control().release_capacity(data.len());
            }
            Ok(None) => return Ok(()),
            Ok(Some(Err(e))) => return Err(stream_error(e)),
            Err(_) => return Err(ProxyError::UpstreamTimeout),
        }
    }
}
