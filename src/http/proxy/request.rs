//! Streaming a request body to the upstream, and noticing when the upstream
//! answers before it has taken all of it (a 413 or 401 for an upload). Then the
//! rest of the body is not sent: `send_and_wait` reads the answer as usual, and
//! the client's connection closes after it (the body was not consumed), with a
//! lingering close so the client can read the response. That is what nginx does.
//!
//! The upstream shows it answered in one of three ways: its socket turns readable
//! while the relay waits for the client ([`UpstreamSink::watch`]); a body write
//! fails because it closed or reset (what it sent before is still readable); or,
//! when it answered and stopped reading, a write blocks and a peek finds the
//! answer ([`answered`]).

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use super::Leg;
use super::mirror::Tee;
use crate::http::body::{RelayError, Sink};
use crate::http::codec::RequestHead;
use crate::http::downstream::Downstream;
use crate::http::error::ProxyError;
use crate::net::peer::{self, Peek};
use crate::net::upstream::UpstreamConn;
use crate::net::upstream_tls::UpStream;
use crate::runtime::io::{self, IoFail};

/// How often a blocked body write checks whether the upstream answered.
const PEEK_EVERY: Duration = Duration::from_millis(100);

/// Streams the request body to the upstream. `Ok` also when the upstream
/// answered (or closed) before taking all of it: the request's body state then
/// stays `Broken`, and reading the response comes next. A response that cannot
/// be read is a 502 there.
pub(super) async fn stream_body<D: Downstream>(
    d: &mut D,
    head: &RequestHead,
    up: &mut UpstreamConn,
    leg: Leg<'_>,
    copy: Option<&mut Tee>,
) -> Result<(), ProxyError> {
    let mut sink = UpstreamSink(&mut up.stream, copy);
    let result = d.send_body(head, &mut sink, leg.t.write_timeout).await;
    // A mirror gets only a body that went out whole.
    if let (Err(_), Some(copy)) = (&result, sink.1) {
        copy.spoil();
    }
    match result {
        Ok(_) => Ok(()),
        Err(RelayError::Stopped) => {
            log::debug!(
                "upstream {} answered before the whole request body",
                leg.addr
            );
            Ok(())
        }
        Err(RelayError::Write(IoFail::Io(e))) => {
            log::debug!("upstream {} stopped taking the request body: {e}", leg.addr);
            Ok(())
        }
        Err(RelayError::Write(IoFail::Timeout)) => Err(ProxyError::UpstreamWriteTimeout(leg.addr)),
        Err(RelayError::Read(IoFail::Timeout)) => Err(ProxyError::RequestTimeout),
        Err(RelayError::Read(_) | RelayError::Eof) => Err(ProxyError::ClientClosed),
        Err(RelayError::Invalid(e)) => Err(ProxyError::BadBody(e)),
        Err(RelayError::TooLarge) => Err(ProxyError::BodyTooLarge),
    }
}

/// The upstream as the destination of a request body, and the mirrors' copy
/// of it, if any.
struct UpstreamSink<'a>(&'a mut UpStream, Option<&'a mut Tee>);

impl Sink for UpstreamSink<'_> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        // The write holds the stream, so the watch works on the bare descriptor.
        // Not under TLS: a record that arrives (a session ticket) need not be
        // an answer, and only rustls could tell; an upstream that answers and
        // closes still fails the write.
        if let Some(copy) = self.1.as_deref_mut() {
            copy.body(&buf[..len]);
        }
        let fd = (!self.0.is_tls()).then(|| self.0.as_raw_fd());
        let write = io::write_prefix(self.0, buf, len, deadline);
        match io::watched(write, || answered(fd)).await {
            Some(r) => r.map_err(RelayError::Write),
            None => Err(RelayError::Stopped),
        }
    }

    /// Anything from the upstream before the body is all sent is its answer (or
    /// its end): stop waiting for the client and go read it.
    async fn watch(&self) {
        if self.0.is_tls() {
            return std::future::pending().await;
        }
        let _ = self.0.tcp().readable(false).await;
    }
}

/// Resolves once the upstream has sent something (bytes, an end of stream or a
/// reset), checked every [`PEEK_EVERY`]: while a write is blocked, a readiness
/// wait cannot borrow the stream, but a peek at the descriptor can look.
async fn answered(fd: Option<RawFd>) {
    let Some(fd) = fd else {
        return std::future::pending().await;
    };
    loop {
        crate::runtime::clock::deadline(Instant::now() + PEEK_EVERY).await;
        if peer::peek(fd) != Peek::Quiet {
            return;
        }
    }
}
