//! Two-way byte copy for connections that stop being HTTP: a `101 Switching
//! Protocols` answer to an Upgrade request (WebSocket). Each direction has its own
//! copy loop and buffer (DESIGN.md §9: not monoio's 4 KiB copy); an end of stream
//! in one direction is passed on as a half-close and the other keeps flowing.

use std::io;

use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, Splitable};

use crate::http::io::{read_some, reserve_up_to};
use crate::http::server::ClientIo;
use crate::http::upstream::UpstreamConn;

const TUNNEL_BUF_SIZE: usize = 16 * 1024;

/// Copies between `client` and `up` until both directions ended or either failed.
/// `client_buf` and `up.buf` hold bytes already read past the handshake.
pub async fn run<S: ClientIo>(client: S, client_buf: Vec<u8>, up: UpstreamConn) {
    let (mut client_r, mut client_w) = client.into_halves();
    let (mut up_r, mut up_w) = up.stream.into_split();
    let upward = copy(&mut client_r, client_buf, &mut up_w);
    let downward = copy(&mut up_r, up.buf, &mut client_w);
    let (a, b) = monoio::join!(upward, downward);
    if let Err(e) = a.and(b) {
        log::debug!("tunnel ended: {e}");
    }
}

async fn copy<R: AsyncReadRent, W: AsyncWriteRent>(
    r: &mut R,
    mut buf: Vec<u8>,
    w: &mut W,
) -> io::Result<()> {
    loop {
        if !buf.is_empty() {
            let (res, b) = w.write_all(buf).await;
            buf = b;
            res?;
            buf.clear();
        }
        reserve_up_to(&mut buf, TUNNEL_BUF_SIZE, TUNNEL_BUF_SIZE);
        match read_some(r, &mut buf, usize::MAX, None).await {
            Ok(0) => return w.shutdown().await,
            Ok(_) => {}
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}
