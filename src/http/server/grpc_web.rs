//! `grpcWeb`'s response to an HTTP/1.1 client: the seam is
//! `Downstream::send_response`, which hands a converted request's response
//! here. The head is rewritten (`http::grpc_web::head`) and goes out with
//! chunked framing (close-delimited for an HTTP/1.0 client); the body
//! streams piece by piece, and the upstream's trailers become its last
//! frame rather than a chunked trailer section.

use super::downstream::{ClientSink, body_error};
use super::{ClientIo, Conn, Outcome, ReqState};
use crate::http::body::Relay;
use crate::http::codec::{RequestHead, ResponseHead, Version};
use crate::http::downstream::Source;
use crate::http::error::ProxyError;
use crate::http::forward::ResponseFraming;
use crate::http::grpc_web;
use crate::middleware::grpc_web::Mode;
use crate::net::upstream::UpstreamConn;
use crate::runtime::io;

impl<S: ClientIo> Conn<S> {
    pub(super) async fn send_grpc_web(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
        mode: Mode,
    ) -> Result<Outcome, ProxyError> {
        let chunked = head.version == Version::Http11;
        let close =
            head.close || !chunked || self.w.shutdown.is_fired() || self.req != ReqState::Consumed;
        let framing = ResponseFraming {
            dechunk: false,
            close,
            keep_alive_10: false,
        };
        let up_head = (&up.buf[..], resp);
        let fields = &self.resp_headers;
        let to = (mode, chunked);
        self.out = grpc_web::head(&mut self.out, up_head, fields, &framing, &self.edits, to)?;
        io::consume(&mut up.buf, resp.head_len);
        self.response_started = true;
        (self.rec.status, self.rec.origin_status) = (resp.status, resp.status);
        let deadline = self.write_deadline();
        io::write_vec(&mut self.io, &mut self.out, deadline)
            .await
            .map_err(|_| ProxyError::ClientClosed)?;
        let relay = Relay {
            kind: resp.body,
            dechunk: true,
            read_timeout: from.read_timeout,
            write_timeout: self.ep.cfg.write_timeout,
        };
        let mut client = ClientSink(&mut self.io);
        let buf = std::mem::take(&mut self.out);
        let (relayed, mut out) =
            grpc_web::relay(relay, up, &mut client, (mode, chunked), buf).await;
        self.rec.resp_bytes += relayed.map_err(|e| body_error(e, &mut self.rec, from))?;
        self.rec.resp_bytes += out.len() as u64;
        let deadline = self.write_deadline();
        let written = io::write_vec(&mut self.io, &mut out, deadline).await;
        self.out = out;
        written.map_err(|_| ProxyError::ClientClosed)?;
        Ok(if close {
            Outcome::Close
        } else {
            Outcome::KeepAlive
        })
    }
}
