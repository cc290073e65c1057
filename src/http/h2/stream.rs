//! One HTTP/2 stream as one request: its head translated into an HTTP/1.1
//! field block (`head`), routed, run through the middlewares, answered
//! locally or forwarded, then logged and counted, with protocol `HTTP/2.0`.
//! Responses made here are framed as HTTP/1.1 by the shared code
//! (`answer::write_h1`, the error map) and sent as HTTP/2 (`send_out`).

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};

use super::Shared;
use super::head;
use crate::http::answer::{self, Answer};
use crate::http::codec::{BodyKind, HeadParser, HeaderSpan, RequestHead};
use crate::http::error::{ProxyError, error_body, error_response};
use crate::http::error_page;
use crate::http::proxy;
use crate::http::server::ReqState;
use crate::middleware::limits::redis;
use crate::middleware::{At, Edits, Flow, Middleware};
use crate::observe::Record;
use crate::router::{HeaderLookup, RequestInfo};
use crate::runtime::panic::CatchUnwind;
use crate::worker::view::View;

/// The first capacity of the buffers a stream writes heads into.
const HEAD_CAPACITY: usize = 768;

/// The protocol the access log names.
pub(super) const PROTOCOL: &str = "HTTP/2.0";

pub(super) struct Stream {
    pub c: Rc<Shared>,
    /// The request head as HTTP/1.1 (the field block the pipeline reads).
    pub buf: Vec<u8>,
    pub headers: Vec<HeaderSpan>,
    pub parser: HeadParser,
    pub resp_headers: Vec<HeaderSpan>,
    /// Heads and local answers on their way out (HTTP/1.1 form).
    pub out: Vec<u8>,
    /// The request body still to come; `None` once taken.
    pub body: Option<RecvStream>,
    /// The whole body, when forwardAuth's `forwardBody` read it first: the
    /// upstream request then takes it from here (`send_body`).
    pub taken: Option<Vec<u8>>,
    /// The body read whole before forwarding (`keep.rs`), sent again on
    /// each attempt; dropped, with its temporary file, when forwarding ends.
    pub spool: Option<crate::http::spool::Spool>,
    /// Whether the request is kept whole for another attempt.
    pub kept: crate::http::downstream::Kept,
    /// The stream's response side; `None` once the response is all queued
    /// and the stream released ([`Stream::release`]).
    pub respond: RefCell<Option<SendResponse<Bytes>>>,
    pub send: Option<SendStream<Bytes>>,
    pub req: ReqState,
    pub response_started: bool,
    pub rec: Record,
    pub routed: Option<Rc<View>>,
    pub edits: Edits,
    pub scratch: Vec<u8>,
}

/// Serves one stream (a task of its own on the worker).
pub(super) async fn serve(
    req: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
    c: Rc<Shared>,
) {
    c.active.set(c.active.get() + 1);
    let (parts, body) = req.into_parts();
    let end_stream = body.is_end_stream();
    let mut s = Stream {
        c: c.clone(),
        // Sized for a usual head, so the heads written here do not grow
        // them step by step (below 1 KiB: glibc serves such sizes from its
        // small bins without consolidating).
        buf: Vec::with_capacity(HEAD_CAPACITY),
        headers: Vec::with_capacity(16),
        parser: HeadParser::new(),
        resp_headers: Vec::with_capacity(16),
        out: Vec::with_capacity(HEAD_CAPACITY),
        body: Some(body),
        taken: None,
        spool: None,
        kept: Default::default(),
        respond: RefCell::new(Some(respond)),
        send: None,
        req: if end_stream {
            ReqState::Consumed
        } else {
            ReqState::Untouched
        },
        response_started: false,
        rec: Record::default(),
        routed: None,
        edits: Edits::default(),
        scratch: Vec::new(),
    };
    let parsed = head::write_request(&parts, end_stream, &mut s.buf).and_then(|()| {
        // The field list was bounded by the decoder (maxHeaderBytes); the
        // HTTP/1.1 form only adds its framing.
        let limit = s.buf.len() + 1;
        match s.parser.parse_request(&s.buf, limit, &mut s.headers) {
            Ok(Some(h)) => Ok(h),
            Ok(None) => Err(ProxyError::BadRequest("incomplete HTTP/2 request head")),
            Err(e) => Err(e.into()),
        }
    });
    drop(parts);
    match parsed {
        Ok(h) => {
            s.begin_record(&h);
            if CatchUnwind::new(s.handle(&h)).await.is_err() {
                log::error!(
                    "panic while handling a request from {}: answered 500",
                    c.peer
                );
                s.fail(None, ProxyError::Internal("panic")).await;
            }
        }
        Err(e) => {
            s.rec.begin(b"GET", 0, false);
            s.fail(None, e).await;
        }
    }
    s.finish_record();
    c.active.set(c.active.get() - 1);
    c.last_end.set(Instant::now());
}

impl Stream {
    async fn handle(&mut self, head: &RequestHead) {
        // The entry point's `transport.maxRequestBodyBytes`, as for HTTP/1.1.
        if let (BodyKind::Length(n), Some(max)) = (head.body, self.c.ep.cfg.max_request_body_bytes)
            && n > max
        {
            self.fail(Some(head), ProxyError::BodyTooLarge).await;
            return;
        }
        let view = self.c.w.view();
        let found = {
            let lookup = HeaderView {
                buf: &self.buf,
                headers: &self.headers,
            };
            let info = self.request_info(head, &lookup);
            let tables = match self.c.tls {
                true => &view.snapshot.tls_tables,
                false => &view.snapshot.tables,
            };
            tables[self.c.ep.index].find(&info)
        };
        let Some(id) = found else {
            self.fail(Some(head), ProxyError::NoRoute).await;
            return;
        };
        self.rec.route(id);
        self.routed = Some(view.clone());
        let router = &view.snapshot.routers[id as usize];
        let Some(flow) = self.run_chain(head, &view, router).await else {
            return;
        };
        if flow == Flow::Answer {
            let Some((status, body)) = self.edits.answered() else {
                return;
            };
            self.out.clear();
            answer::write_h1(
                &mut self.out,
                &Answer::text(status, body),
                &self.edits,
                false,
                head.is_head,
            );
            self.send_out(head.is_head).await;
            return;
        }
        // Weighted and failover services name the one that answers.
        if let proxy::Served::Local(service) = proxy::serve(self, head, &view, router.service).await
        {
            self.answer_locally(head, &view, &service).await;
        }
    }

    fn request_info<'a>(&self, head: &RequestHead, lookup: &'a HeaderView<'a>) -> RequestInfo<'a> {
        RequestInfo {
            method: head.method.get(lookup.buf),
            host: head.host.get(lookup.buf),
            path: head.path.get(lookup.buf),
            query: head.query.get(lookup.buf),
            client_ip: self.c.peer.ip().to_canonical(),
            headers: lookup,
            tls: self.c.tls,
            forwarded_trusted: self.c.trusted,
            client_certs: None,
        }
    }

    /// The entry point's chain, then the router's. A middleware that needs a
    /// call (forwardAuth, rateLimit.redis) has it made here, then the chain goes on after it;
    /// `None`: that call's answer was sent to the client.
    async fn run_chain(
        &mut self,
        head: &RequestHead,
        view: &View,
        router: &crate::config::Router,
    ) -> Option<Flow> {
        let entry = &view.snapshot.entry_chains[self.c.ep.index];
        if entry.is_empty() && router.middlewares.is_empty() {
            return Some(Flow::Next);
        }
        let (defs, states) = (&view.snapshot.middlewares, &view.middlewares);
        let chains = [&entry[..], &router.middlewares[..]];
        let mut from = At::default();
        loop {
            let flow = {
                let lookup = HeaderView {
                    buf: &self.buf,
                    headers: &self.headers,
                };
                let mut info = self.request_info(head, &lookup);
                // passTLSClientCert: the chain the client sent in the handshake.
                info.client_certs = self.c.client_certs.as_deref();
                crate::middleware::run_from(defs, states, chains, &info, &mut self.edits, from)
            };
            let Flow::Call(at) = flow else {
                if flow == Flow::Next && !self.edits.catchers().is_empty() {
                    let tls = self.c.tls;
                    error_page::save_request(&mut self.edits, head, &self.buf, &self.headers, tls);
                }
                return Some(flow);
            };
            let def = &defs[chains[at.chain as usize][at.index as usize] as usize];
            if let Middleware::ForwardAuth(fa) = &def.kind
                && !self.forward_auth(head, fa, &def.name).await
            {
                return None;
            }
            if let Middleware::RateLimit(rl) = &def.kind {
                let key = {
                    let lookup = HeaderView {
                        buf: &self.buf,
                        headers: &self.headers,
                    };
                    let info = self.request_info(head, &lookup);
                    redis::key(rl, &def.name, &info)
                };
                let state = &states[chains[at.chain as usize][at.index as usize] as usize];
                // A stream reset during a hold ends it (`limits::hold`).
                let respond = &self.respond;
                let gone = || reset_of(respond);
                let flow = redis::call(rl, &def.name, state, &key, &mut self.edits, gone).await;
                if flow == Flow::Answer {
                    return Some(Flow::Answer);
                }
            }
            from = at.next();
        }
    }

    /// Sends the HTTP/1.1 response framed in `out` as this stream's response.
    pub(super) async fn send_out(&mut self, is_head: bool) {
        self.rec.local_response(&self.out);
        self.response_started = true;
        let Some((resp, at)) = head::response_from_h1(&self.out) else {
            self.reset(h2::Reason::INTERNAL_ERROR);
            return;
        };
        let body = Bytes::copy_from_slice(&self.out[at..]);
        let end = is_head || body.is_empty();
        let sent = self
            .respond
            .borrow_mut()
            .as_mut()
            .map(|r| r.send_response(resp, end));
        let Some(Ok(mut send)) = sent else { return };
        if !end {
            let deadline = Some(Instant::now() + self.c.window_timeout());
            let sending = super::send::send_all(&mut send, body, true);
            if !matches!(
                crate::runtime::clock::until(deadline, sending).await,
                Ok(Ok(()))
            ) {
                send.send_reset(h2::Reason::CANCEL);
            }
        }
        drop(send);
        self.release();
    }

    /// The response is all queued: every handle on the stream is dropped at
    /// once. If the client is still sending its body, the h2 crate then
    /// queues RST_STREAM(NO_ERROR) behind the response's frames (RFC 9113
    /// §8.1), so the client sees the answer and the reset together. Holding a
    /// handle longer lets the response go out alone, and a client whose upload
    /// is still open may take it as no answer (curl 7.88 then reported "Empty
    /// reply from server"); an explicit reset instead would discard the
    /// response still queued.
    pub(super) fn release(&mut self) {
        self.body = None;
        self.send = None;
        self.respond.borrow_mut().take();
    }

    /// Ends the stream with RST_STREAM (`reason`).
    pub(super) fn reset(&mut self, reason: h2::Reason) {
        match self.send.as_mut() {
            Some(s) => s.send_reset(reason),
            None => {
                if let Some(r) = self.respond.borrow_mut().as_mut() {
                    r.send_reset(reason);
                }
            }
        }
    }

    /// Answers `err` with its status if nothing was sent yet, and logs it; a
    /// response already under way is reset instead.
    pub(super) async fn fail(&mut self, head: Option<&RequestHead>, err: ProxyError) {
        let status = err.status();
        if !self.response_started {
            self.rec.status = status;
        }
        let (peer, ep) = (self.c.peer, &self.c.ep.cfg.name);
        if status == 499 {
            log::info!("request status=499 client={peer} entrypoint={ep} protocol=HTTP/2.0: {err}");
            self.reset(h2::Reason::CANCEL);
            if self.c.client_reset() {
                log::info!("HTTP/2 client {peer} reset too many streams");
            }
            return;
        }
        if status >= 500 {
            let upstream = self
                .routed
                .as_ref()
                .and_then(|v| self.rec.server_url(&v.snapshot));
            log::warn!(
                "request status={status} client={peer} entrypoint={ep} upstream={}: {err}",
                upstream.unwrap_or("-")
            );
        } else {
            log::debug!("request status={status} client={peer}: {err}");
        }
        if self.response_started {
            self.reset(h2::Reason::INTERNAL_ERROR);
            return;
        }
        let is_head = head.is_some_and(|h| h.is_head);
        if let Some(caught) = error_page::catcher(&self.edits, self.routed.as_ref(), status) {
            // An `errors` middleware catches the proxy's own errors too.
            Box::pin(self.send_error_page(caught, status, is_head)).await;
            return;
        }
        self.out.clear();
        if self.edits.has_response_edits() {
            let a = Answer::text(status, error_body(status));
            answer::write_h1(&mut self.out, &a, &self.edits, false, is_head);
        } else {
            self.out.extend_from_slice(error_response(status, false));
        }
        self.send_out(is_head).await;
    }

    /// Resolves when the client reset the stream or the connection ended.
    pub(super) fn client_gone(&self) -> impl Future<Output = ()> + '_ {
        reset_of(&self.respond)
    }
}

/// Resolves when the client reset the stream whose response side is
/// `respond`, or the connection ended.
fn reset_of(respond: &RefCell<Option<SendResponse<Bytes>>>) -> impl Future<Output = ()> + '_ {
    poll_fn(move |cx| match respond.borrow_mut().as_mut() {
        Some(r) => r.poll_reset(cx).map(|_| ()),
        // Released: the exchange is over, nobody waits on this.
        None => std::task::Poll::Pending,
    })
}

/// Router access to request headers by name, over the parsed spans.
pub(super) struct HeaderView<'a> {
    pub buf: &'a [u8],
    pub headers: &'a [HeaderSpan],
}

impl HeaderLookup for HeaderView<'_> {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.headers
            .iter()
            .filter(|h| h.name.get(self.buf).eq_ignore_ascii_case(name.as_bytes()))
            .any(|h| f(h.value.get(self.buf)))
    }
}
