//! `grpcWeb`'s response to an HTTP/2 client: the converted head as HEADERS,
//! the body as DATA as it comes (base64 per piece in text mode), and the
//! upstream's trailers as the last DATA frame's gRPC-Web trailer frame,
//! which ends the stream: a gRPC-Web client reads no HTTP/2 trailers.

use std::cell::RefCell;

use bytes::Bytes;

use super::body_out::body_error;
use super::send::{H2Sink, send_all};
use super::stream::Stream;
use crate::http::body::Relay;
use crate::http::codec::{RequestHead, ResponseHead};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::ResponseFraming;
use crate::http::grpc_web;
use crate::http::server::Outcome;
use crate::middleware::grpc_web::Mode;
use crate::net::upstream::UpstreamConn;
use crate::runtime::io as rio;

impl Stream {
    pub(super) async fn send_grpc_web(
        &mut self,
        _head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        mode: Mode,
    ) -> Result<Outcome, ProxyError> {
        let framing = ResponseFraming {
            dechunk: true,
            close: false,
            keep_alive_10: false,
        };
        let up_head = (&up.buf[..], resp);
        let fields = &self.resp_headers;
        let to = (mode, false);
        let converted = grpc_web::head(&mut self.out, up_head, fields, &framing, &self.edits, to)?;
        rio::consume(&mut up.buf, resp.head_len);
        let h2resp = super::downstream::h2_head(&converted)?;
        self.start_response(h2resp, resp.status, false)?;
        let send = self.send.as_mut().ok_or(ProxyError::ClientClosed)?;
        let relay = Relay {
            kind: resp.body,
            dechunk: true,
            read_timeout: from.read_timeout,
            write_timeout: Some(self.c.window_timeout()),
        };
        let mut client = H2Sink(RefCell::new(send));
        let (relayed, out) =
            grpc_web::relay(relay, up, &mut client, (mode, false), converted).await;
        self.rec.resp_bytes += relayed.map_err(|e| body_error(e, &mut self.rec, from))?;
        self.rec.resp_bytes += out.len() as u64;
        let send = client.0.into_inner();
        let timeout = Some(std::time::Instant::now() + self.c.window_timeout());
        match rio::until(timeout, send_all(send, Bytes::from(out), true)).await {
            Ok(Ok(())) => Ok(Outcome::KeepAlive),
            _ => Err(ProxyError::ClientClosed),
        }
    }
}
