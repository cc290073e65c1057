//! monoio-http's h2 server (its fork of the `h2` crate on monoio's
//! owned-buffer `AsyncReadRent`/`AsyncWriteRent` traits): the plain monoio
//! socket, the same limits as the `h2` side where the fork has them (it has
//! no `max_pending_accept_reset_streams`, `max_local_error_reset_streams` or
//! server `header_table_size`), the same task layout and the same stream code.

use bytes::Bytes;
use monoio::net::TcpStream;
use monoio_http::h2::{RecvStream, server};

use crate::limits as l;

fn builder() -> server::Builder {
    let mut b = server::Builder::new();
    b.max_concurrent_streams(l::MAX_STREAMS)
        .max_header_list_size(l::MAX_HEADER_LIST)
        .initial_window_size(l::STREAM_WINDOW)
        .initial_connection_window_size(l::CONNECTION_WINDOW)
        .max_send_buffer_size(l::SEND_BUFFER)
        .max_concurrent_reset_streams(l::CONCURRENT_RESET_STREAMS);
    b
}

/// Serves one connection in a task of its own.
pub fn spawn(socket: TcpStream, body: Bytes) {
    monoio::spawn(async move {
        let Ok(mut conn) = builder().handshake::<_, Bytes>(socket).await else {
            return;
        };
        while let Some(Ok((req, respond))) = conn.accept().await {
            monoio::spawn(stream(req, respond, body.clone()));
        }
        let _ = std::future::poll_fn(|cx| conn.poll_closed(cx)).await;
    });
}

async fn stream(
    req: http::Request<RecvStream>,
    mut respond: server::SendResponse<Bytes>,
    body: Bytes,
) {
    crate::serve_stream!(req, respond, body);
}
