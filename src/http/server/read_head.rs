//! Reading a request head off a client connection: the wait for the first
//! byte (bounded by idleTimeout, parked when quiet, cut by shutdown) and the
//! read-and-parse loop bounded by readTimeout and maxHeaderBytes.

use std::time::Instant;

use super::{CLIENT_BUF_SIZE, ClientIo, Conn, IDLE_HOLD, IdleRead};
use crate::http::codec::{ParseError, RequestHead};
use crate::http::error::ProxyError;
use crate::runtime::io::{self, IoFail};

/// Why no request head came.
pub(super) enum NoHead {
    /// Closed, idle timeout, stop, or an I/O error: end quietly.
    Closed,
    /// Quiet for a while: park until the client sends again or `deadline`.
    Park(Option<Instant>),
    /// Answer with this error, then close.
    Fail(ProxyError),
}

impl<S: ClientIo> Conn<S> {
    /// Reads until a complete request head is buffered. `Err(None)`: the connection
    /// ended quietly (closed, idle timeout, shutdown); `Err(Some(e))`: answer `e`.
    pub(super) async fn read_head(&mut self) -> Result<RequestHead, NoHead> {
        self.parser.reset();
        let ep = self.ep.clone();
        let cfg = &ep.cfg;
        let mut started = (!self.buf.is_empty()).then(Instant::now);
        loop {
            if started.is_some() {
                match self
                    .parser
                    .parse_request(&self.buf, cfg.max_header_bytes, &mut self.headers)
                {
                    Ok(Some(head)) => return Ok(head),
                    Ok(None) => {}
                    Err(e) => return Err(NoHead::Fail(e.into())),
                }
            }
            if !io::reserve_up_to(&mut self.buf, CLIENT_BUF_SIZE, cfg.max_header_bytes + 1) {
                return Err(NoHead::Fail(ParseError::TooLarge.into()));
            }
            let n = match started {
                None => self.read_idle().await?,
                Some(t) => {
                    let deadline = cfg.read_timeout.map(|d| t + d);
                    match io::read_some(&mut self.io, &mut self.buf, usize::MAX, deadline).await {
                        Ok(n) => n,
                        Err(IoFail::Timeout) => {
                            return Err(NoHead::Fail(ProxyError::RequestTimeout));
                        }
                        Err(IoFail::Io(_)) => return Err(NoHead::Closed),
                    }
                }
            };
            if n == 0 {
                return Err(NoHead::Closed);
            }
            started.get_or_insert_with(Instant::now);
        }
    }

    /// Waits for the first byte of the next request: bounded by idleTimeout, cut
    /// short by a graceful shutdown, and parked once the client has been quiet for
    /// [`IDLE_HOLD`] (so 10k idle keep-alive connections cost little more than
    /// their sockets).
    async fn read_idle(&mut self) -> Result<usize, NoHead> {
        let now = Instant::now();
        let deadline = self.ep.cfg.idle_timeout.map(|d| now + d);
        let shutdown = self.w.shutdown.clone();
        if shutdown.is_fired() {
            return Err(NoHead::Closed);
        }
        // An active client's next request usually comes soon: keep a read posted
        // with the small buffer, as the hot path wants.
        let hold = deadline.map_or(now + IDLE_HOLD, |d| d.min(now + IDLE_HOLD));
        let read = self
            .io
            .read_or_quiet(&mut self.buf, hold, deadline, &mut self.canceller);
        let first = monoio::select! {
            r = read => r,
            _ = shutdown.wait() => return Err(NoHead::Closed),
        };
        match first {
            IdleRead::Data(Ok(n)) => Ok(n),
            IdleRead::Data(Err(_)) => Err(NoHead::Closed),
            IdleRead::Quiet if deadline.is_some_and(|d| Instant::now() >= d) => Err(NoHead::Closed),
            IdleRead::Quiet => Err(NoHead::Park(deadline)),
        }
    }
}
