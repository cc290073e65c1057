//! The `h2` crate (0.4) driven as proxyd drives it (src/http/h2.rs,
//! src/http/h2/send.rs): the socket turned into monoio's poll-io stream (the
//! tokio I/O traits h2 speaks, readiness on this thread's ring), the same
//! builder limits, the connection polled by its own task and each stream a
//! `monoio::spawn`ed task that releases request-body window as it reads and
//! sends the body as the client's window allows.

use std::future::poll_fn;

use bytes::Bytes;
use monoio::net::TcpStream;

use crate::limits as l;

fn builder() -> h2::server::Builder {
    let mut b = h2::server::Builder::new();
    b.max_concurrent_streams(l::MAX_STREAMS)
        .header_table_size(4096)
        .max_header_list_size(l::MAX_HEADER_LIST)
        .initial_window_size(l::STREAM_WINDOW)
        .initial_connection_window_size(l::CONNECTION_WINDOW)
        .max_send_buffer_size(l::SEND_BUFFER)
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(Some(1024))
        .max_concurrent_reset_streams(l::CONCURRENT_RESET_STREAMS);
    b
}

/// Serves one connection in a task of its own.
pub fn spawn(socket: TcpStream, body: Bytes) {
    let Ok(io) = socket.try_into_poll_io() else {
        return eprintln!("no poll-io socket");
    };
    monoio::spawn(async move {
        let Ok(mut conn) = builder().handshake::<_, Bytes>(io).await else {
            return;
        };
        while let Some(Ok((req, respond))) = conn.accept().await {
            monoio::spawn(stream(req, respond, body.clone()));
        }
        // Sends what is queued (GOAWAY included) before the socket closes.
        let _ = poll_fn(|cx| conn.poll_closed(cx)).await;
    });
}

async fn stream(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    body: Bytes,
) {
    crate::serve_stream!(req, respond, body);
}
