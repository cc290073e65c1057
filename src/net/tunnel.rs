//! Two-way byte copy for connections that stop being HTTP: a `101 Switching
//! Protocols` answer to an Upgrade request (WebSocket); TCP routes (`tcp::proxy`)
//! use the same loop. Each direction has its own copy loop and 16 KiB buffer
//! (monoio's built-in copy uses 4 KiB); an end of stream in one direction is passed on
//! as a half-close and the other keeps flowing.

use std::cell::Cell;
use std::io;
use std::time::Instant;

use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

use crate::net::client_io::ClientIo;
use crate::net::upstream::UpstreamConn;
use crate::runtime::io::{read_some, reserve_up_to};

const TUNNEL_BUF_SIZE: usize = 16 * 1024;

/// Copies between `client` and `up` until both directions ended or either failed.
/// `client_buf` and `up.buf` hold bytes already read past the handshake.
pub async fn run<S: ClientIo>(client: S, client_buf: Vec<u8>, up: UpstreamConn) {
    let (mut client_r, mut client_w) = client.into_halves();
    let (mut up_r, mut up_w) = up.stream.into_split();
    let upward = copy(&mut client_r, client_buf, &mut up_w, None);
    let downward = copy(&mut up_r, up.buf, &mut client_w, None);
    if let Err(e) = both(upward, downward).await {
        log::debug!("tunnel ended: {e}");
    }
    // A direction that failed did not half-close: close now (for TLS, the
    // close_notify; a second shutdown of a TLS half does nothing).
    let _ = client_w.shutdown().await;
}

/// Runs both directions until both ended, or until one fails: then the other
/// is dropped too (an upstream reset ends the tunnel instead of leaving the
/// client's direction waiting for the client).
pub async fn both(
    a: impl std::future::Future<Output = io::Result<()>>,
    b: impl std::future::Future<Output = io::Result<()>>,
) -> io::Result<()> {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (first, a_done) = monoio::select! {
        r = &mut a => (r, true),
        r = &mut b => (r, false),
    };
    first?;
    if a_done { b.await } else { a.await }
}

/// One direction: `buf` first, then read → write until end of stream, which is
/// passed on as a half-close. `activity`, if given, is set to the time of each
/// read and write (TCP routes' idle watchdog; an HTTP tunnel has none).
pub async fn copy<R: AsyncReadRent, W: AsyncWriteRent>(
    r: &mut R,
    mut buf: Vec<u8>,
    w: &mut W,
    activity: Option<&Cell<Instant>>,
) -> io::Result<()> {
    let touch = || {
        if let Some(last) = activity {
            last.set(Instant::now());
        }
    };
    loop {
        if !buf.is_empty() {
            let (res, b) = w.write_all(buf).await;
            buf = b;
            res?;
            buf.clear();
            touch();
        }
        reserve_up_to(&mut buf, TUNNEL_BUF_SIZE, TUNNEL_BUF_SIZE);
        match read_some(r, &mut buf, usize::MAX, None).await {
            Ok(0) => return w.shutdown().await,
            Ok(_) => touch(),
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}
