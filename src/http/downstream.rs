//! The client side of one proxied request, as forwarding (`http::proxy`, the
//! HTTP/1.1 upstream client) uses it: the request's field block and what the
//! router's middlewares changed, a body source, a response sink, the client's
//! departure, and the per-request record. Whichever protocol the client spoke
//! implements it — HTTP/1.1's `Conn` today (`http/server/downstream.rs`), an
//! HTTP/2 stream later — so forwarding, with its pool, retry decision and
//! check-in, does not change with the client's protocol.
//!
//! The request head is a field block: bytes plus the parsed head's spans into
//! them (`RequestHead`, `HeaderSpan`), which HTTP/1.1 parses from the wire and
//! an HTTP/2 stream would decode its HPACK block into.
//!
//! Async methods run on the worker's single-threaded runtime: nothing here is
//! ever sent to another thread, so no `Send` bound is wanted on their futures.
#![allow(async_fn_in_trait)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::http::body::{RelayError, Sink};
use crate::http::codec::{HeadParser, HeaderSpan, RequestHead, ResponseHead};
use crate::http::error::ProxyError;
use crate::http::server::{Outcome, ReqState};
use crate::middleware::Edits;
use crate::net::upstream::{Pool, UpstreamConn};
use crate::observe::Record;

/// What forwarding knows of the server it sends a request to.
pub struct ServerSide<'a> {
    /// `Some(authority)` replaces Host (passHostHeader = false).
    pub host_override: Option<&'a str>,
    /// The server's authority, for a request that brought no Host.
    pub default_host: &'a str,
    /// The server URL's path, prepended to the request path.
    pub path_prefix: &'a str,
}

/// The response head as forwarding read it from the upstream.
pub struct Answered<'a> {
    pub resp: &'a ResponseHead,
    /// The upstream's buffer: the head's bytes first, then any body bytes
    /// that came with it.
    pub buf: &'a [u8],
}

/// What [`Downstream::write_upstream_request`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// The whole body went with the head.
    pub inline: bool,
    /// The request can be sent again as it is: its method is idempotent and it
    /// went whole with its head.
    pub replayable: bool,
}

/// Whether the request is kept whole for another attempt decided on the
/// upstream's answer (its body spooled, its head kept), and what may send it
/// again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kept {
    /// Head and body can be written again, to any server.
    pub whole: bool,
    /// The `retry` middleware's `status` applies to this request (its method
    /// allows it, and its body was within `maxRequestBodyBytes`).
    pub status_retry: bool,
}

/// The upstream a response body streams from: its address (for the log) and
/// the longest silence allowed between two reads.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub addr: SocketAddr,
    pub read_timeout: Option<Duration>,
}

pub trait Downstream {
    /// This worker's idle upstream connections.
    fn pool(&self) -> &Pool;

    /// The client's address as text, formatted once per connection (what
    /// `hrw` hashes).
    fn client_ip(&self) -> &str;

    /// The value of the request's first cookie named `name` (a sticky
    /// cookie), quotes removed.
    fn request_cookie(&self, name: &[u8]) -> Option<&[u8]>;

    /// Adds a field to the response (a sticky cookie's `Set-Cookie`), its
    /// value the concatenation of `parts`.
    fn add_response_header(&mut self, name: &[u8], parts: &[&[u8]]);

    /// The per-request record (server picked, retries, statuses, bytes).
    fn record(&mut self) -> &mut Record;

    /// What the request's middlewares recorded (response edits, the choices
    /// of `compress` and `errors`).
    fn edits(&self) -> &Edits;

    /// How much of the request body the upstream has been given.
    fn body_state(&self) -> ReqState;

    /// Whether any response byte went to the client (an error can then no
    /// longer become a status).
    fn response_started(&self) -> bool;

    /// Writes the upstream request head (`forward::write_request_head` over
    /// the request's field block, with the middlewares' edits) into
    /// [`Downstream::out`], followed by the body when it is small and already
    /// here, which the request then no longer holds.
    fn write_upstream_request(&mut self, head: &RequestHead, server: &ServerSide) -> Written;

    /// The buffer the upstream request head was written into; forwarding
    /// writes it to the upstream (and again on a retry).
    fn out(&mut self) -> &mut Vec<u8>;

    /// Streams the rest of the request body into `dst` (after any `100
    /// Continue` the client waits for), bounding each silence of the client.
    /// Returns the bytes sent.
    async fn send_body<W: Sink>(
        &mut self,
        head: &RequestHead,
        dst: &mut W,
        write_timeout: Option<Duration>,
    ) -> Result<u64, RelayError>;

    /// The parser and field list a response head is read with (reused).
    fn response_parser(&mut self) -> (&mut HeadParser, &mut Vec<HeaderSpan>);

    /// Resolves when the client has gone (closed or reset its side).
    fn gone(&self) -> impl Future<Output = ()>;

    /// Passes an interim (1xx) response on, where the client's protocol can
    /// carry it (an HTTP/1.0 client cannot: it is dropped).
    async fn send_interim(
        &mut self,
        head: &RequestHead,
        up: Answered<'_>,
    ) -> Result<(), ProxyError>;

    /// Sends the final response: its head with the middlewares' response
    /// edits, then its body streamed from `up` (whose buffer starts at the
    /// head). `read_timeout` bounds each silence of the upstream. Returns
    /// whether the client's connection stays open.
    async fn send_response(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: &mut UpstreamConn,
        from: Source,
    ) -> Result<Outcome, ProxyError>;

    /// Passes a `101 Switching Protocols` on and hands both connections to a
    /// tunnel; a 101 the client did not ask for is a broken upstream.
    async fn switch_protocols(
        &mut self,
        head: &RequestHead,
        resp: &ResponseHead,
        up: UpstreamConn,
    ) -> Result<Outcome, ProxyError>;

    /// Answers `err` with its status if nothing was sent yet, and logs it.
    async fn fail(&mut self, head: &RequestHead, err: ProxyError) -> Outcome;

    /// Ends the client's connection without destroying a response it has not
    /// read yet, while it may still be sending a body nobody reads.
    async fn linger(&mut self);

    /// The `retry` middleware's policy for this request, if its chain has one.
    fn retry_policy(&self) -> Option<crate::middleware::Retry>;

    /// Whether `buffering`'s `retryExpression` sends the request again after
    /// attempt number `attempt` ended with `status` (nothing reached the
    /// client, and the request is kept whole).
    fn replay(&self, _attempt: u32, _status: u16) -> bool {
        false
    }

    /// Keeps the request whole (its body read into a spool) when an
    /// upstream's answer may send it again: a `buffering` or a `retry` with
    /// `status` in its chain, or a failover's `errors` (`fallback`). `Some`
    /// is the answer when it could not be kept (413, 408, 400, 499). By
    /// default nothing is kept.
    async fn keep(
        &mut self,
        _head: &RequestHead,
        _fallback: Option<crate::config::FailoverErrors>,
    ) -> Option<Outcome> {
        None
    }

    /// What is kept of the request for another attempt made on the
    /// upstream's answer (nothing, by default). Only while nothing of a
    /// response went to the client.
    fn kept(&self) -> Kept {
        Kept::default()
    }

    /// Forwarding made its last attempt: what was kept for another one (a
    /// request sent whole with its head) can go.
    fn end_attempts(&mut self);

    /// The request body as the HTTP/2 stream it arrives on, handed over for
    /// good, when the client spoke HTTP/2: an HTTP/2 upstream then gets it
    /// beside the response (full duplex, as gRPC's bidirectional streams
    /// need) with its trailers. `None` (the default): use `send_body`.
    fn take_stream_body(&mut self, _head: &RequestHead) -> Option<StreamBody> {
        None
    }

    /// `grpcWeb` converts this request (`middleware::grpc_web`): its body
    /// (text mode) and its response change form on the way.
    fn grpc_web(&self) -> Option<crate::middleware::grpc_web::Mode> {
        None
    }
}

/// A client's HTTP/2 request body, with the entry point's limits on it.
pub struct StreamBody {
    pub recv: h2::RecvStream,
    /// `transport.maxRequestBodyBytes`.
    pub max_bytes: Option<u64>,
    /// `readTimeout`: the longest wait for the next DATA frame.
    pub read_timeout: Option<Duration>,
}

/// Whether a request with this method may be sent again after a failed
/// attempt (RFC 9110 §9.2.2: the idempotent methods; `POST`, `PATCH` and
/// `CONNECT` are not).
pub fn idempotent(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}
