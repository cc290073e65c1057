//! The accept path's branch point (docs/architecture.md §2): peek at the first bytes without
//! consuming them, then hand the connection, with those bytes, to a TCP route
//! (passthrough or terminated), to TLS termination then HTTP, or to plaintext HTTP.
//!
//! The peek is one bounded buffer that becomes the connection's first buffer:
//! replayed to the upstream (passthrough), fed to rustls (termination), or parsed
//! as the first request (plaintext HTTP). A plaintext first byte is decided at
//! once, so HTTP pays no extra read. The peek waits at most the entry point's
//! `readTimeout`, and a stop ends it.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use monoio::io::Splitable;
use monoio::net::TcpStream;

use crate::config::{ConnInfo, TcpTls};
use crate::http::h2;
use crate::http::server::{CLIENT_BUF_SIZE, serve, serve_with};
use crate::net::tls_stream;
use crate::runtime::io::{read_some, reserve_up_to};
use crate::tcp::proxy;
use crate::tls::client_hello::{self, ClientHello, MAX_PEEK_LEN, Peek};
use crate::worker::admission::OpenGuard;
use crate::worker::view::View;
use crate::worker::{EntryCtx, WorkerCtx};

/// Serves one accepted (and admitted: `open`) connection until it closes. Each
/// branch is boxed: the task then holds only the branch taken (an idle plaintext
/// HTTP connection does not carry the size of a TLS one), at one allocation per
/// connection.
pub async fn serve_conn(
    mut io: TcpStream,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    open: OpenGuard,
) {
    let view = w.view();
    let snap = &view.snapshot;
    let idx = ep.index;
    let client_ip = peer.ip().to_canonical();
    let (tcp_tls, tcp_plain) = snap.tcp.kinds(idx);
    let no_http = snap.tables[idx].is_empty() && snap.tls_tables[idx].is_empty();
    if tcp_plain && !tcp_tls && no_http {
        // Only plaintext TCP routes: a server-speaks-first protocol (SMTP, MySQL)
        // would wait forever for a peek, so route now, as Traefik does.
        let info = ConnInfo {
            sni: None,
            alpn: &[],
            client_ip,
        };
        if let Some(r) = snap.tcp.find(idx, &info, false) {
            let (r_half, w_half) = io.into_split();
            Box::pin(tcp_forward(
                &view,
                &ep,
                r.service,
                r_half,
                w_half,
                Vec::new(),
            ))
            .await;
        }
        return;
    }
    let deadline = ep.cfg.read_timeout.map(|d| Instant::now() + d);
    let mut buf = Vec::with_capacity(CLIENT_BUF_SIZE);
    let hello = match peek(&mut io, &mut buf, &w, deadline).await {
        Some(h) => h,
        None => return,
    };
    let Some(hello) = hello else {
        let info = ConnInfo {
            sni: None,
            alpn: &[],
            client_ip,
        };
        if let Some(r) = tcp_plain
            .then(|| snap.tcp.find(idx, &info, false))
            .flatten()
        {
            let (r_half, w_half) = io.into_split();
            Box::pin(tcp_forward(&view, &ep, r.service, r_half, w_half, buf)).await;
            return;
        }
        drop(view); // HTTP takes a fresh view per request
        match h2c_preface(&mut io, &mut buf, &w, deadline).await {
            None => return,
            Some(true) => return serve_h2c(io, buf, peer, ep, w, open),
            Some(false) => {}
        }
        // A task of its own, so that a long-lived (often idle) HTTP connection does
        // not keep this peek-and-route state allocated for its whole life.
        monoio::spawn(serve_with(io, buf, peer, ep, w, false, open));
        return;
    };
    let info = ConnInfo {
        sni: hello.sni.as_deref(),
        alpn: &hello.alpn,
        client_ip,
    };
    if let Some(cfg) = crate::tls::acme::alpn_config(hello.sni.as_deref(), &hello.alpn) {
        // tls-alpn-01: the CA's validation only needs the handshake.
        drop(view);
        if let Some(tls) = Box::pin(handshake(io, buf, cfg, deadline, &hello, peer, &w)).await {
            crate::net::client_io::ClientIo::close(tls).await;
        }
        return;
    }
    let route = tcp_tls.then(|| snap.tcp.find(idx, &info, true)).flatten();
    let config = snap.tls.server_config(idx, hello.sni.as_deref()).clone();
    let config = match route.and_then(|r| r.tls_options.as_deref()) {
        Some(name) => snap.tls.configs.get(name).unwrap_or(&config).clone(),
        None => config,
    };
    match route.map(|r| (r.tls, r.service)) {
        Some((TcpTls::Passthrough, service)) => {
            let (r_half, w_half) = io.into_split();
            Box::pin(tcp_forward(&view, &ep, service, r_half, w_half, buf)).await;
        }
        Some((_, service)) => {
            let Some(tls) = Box::pin(handshake(io, buf, config, deadline, &hello, peer, &w)).await
            else {
                return;
            };
            let (r_half, w_half) = tls.into_halves();
            Box::pin(tcp_forward(&view, &ep, service, r_half, w_half, Vec::new())).await;
        }
        None => {
            drop(view);
            if let Some(tls) =
                Box::pin(handshake(io, buf, config, deadline, &hello, peer, &w)).await
            {
                if tls.alpn().as_deref() == Some(b"h2") {
                    return serve_h2_tls(tls, peer, ep, w, open);
                }
                Box::pin(serve(tls, peer, ep, w, true, open)).await;
            }
        }
    }
}

/// Reads until the bytes are known to be TLS (`Some(Some(hello))`) or not
/// (`Some(None)`). `None`: closed, timed out, stopped, malformed or too large.
async fn peek(
    io: &mut TcpStream,
    buf: &mut Vec<u8>,
    w: &WorkerCtx,
    deadline: Option<Instant>,
) -> Option<Option<ClientHello>> {
    loop {
        match client_hello::peek(buf) {
            Peek::Incomplete => {}
            Peek::NotTls => return Some(None),
            Peek::Hello(h) => return Some(Some(h)),
            Peek::Malformed(why) => {
                log::debug!("closing a connection: malformed ClientHello: {why}");
                return None;
            }
        }
        if !reserve_up_to(buf, CLIENT_BUF_SIZE, MAX_PEEK_LEN) {
            return None;
        }
        if w.shutdown.is_fired() {
            return None;
        }
        let read = read_some(io, buf, usize::MAX, deadline);
        let n = monoio::select! {
            r = read => r.ok()?,
            _ = w.shutdown.wait() => return None,
        };
        if n == 0 {
            return None;
        }
    }
}

/// Whether a plaintext connection starts with HTTP/2's connection preface
/// (h2c with prior knowledge), reading on while the bytes so far could still
/// be it. `None`: closed, timed out or stopped before that was known.
async fn h2c_preface(
    io: &mut TcpStream,
    buf: &mut Vec<u8>,
    w: &WorkerCtx,
    deadline: Option<Instant>,
) -> Option<bool> {
    let preface = crate::http::h2::PREFACE;
    while buf.len() < preface.len() {
        if !preface.starts_with(buf) {
            return Some(false);
        }
        let read = read_some(io, buf, usize::MAX, deadline);
        let n = monoio::select! {
            r = read => r.ok()?,
            _ = w.shutdown.wait() => return None,
        };
        if n == 0 {
            return None;
        }
    }
    Some(buf.starts_with(preface))
}

/// h2c: the HTTP/2 connection in a task of its own, the peeked bytes replayed.
fn serve_h2c(
    io: TcpStream,
    buf: Vec<u8>,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    open: OpenGuard,
) {
    let Ok(io) = io.try_into_poll_io() else {
        return log::debug!("h2c from {peer}: no poll-io socket");
    };
    let io = h2::io::Rewind {
        prefix: buf,
        pos: 0,
        io,
    };
    monoio::spawn(h2::serve(io, peer, ep, w, None, open));
}

/// HTTP/2 over TLS (ALPN `h2`): rustls goes on under a poll-based adapter.
fn serve_h2_tls(
    tls: tls_stream::TlsStream,
    peer: SocketAddr,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    open: OpenGuard,
) {
    let Some((io, conn, rest)) = tls.into_parts() else {
        return;
    };
    let Ok(io) = io.try_into_poll_io() else {
        return log::debug!("HTTP/2 over TLS from {peer}: no poll-io socket");
    };
    let io = h2::io::PollTls {
        io,
        conn,
        rest,
        eof: false,
        closed: false,
    };
    let certs = io.client_certs();
    monoio::spawn(h2::serve(io, peer, ep, w, Some(certs), open));
}

async fn handshake(
    io: TcpStream,
    peeked: Vec<u8>,
    config: std::sync::Arc<rustls::ServerConfig>,
    deadline: Option<Instant>,
    hello: &ClientHello,
    peer: SocketAddr,
    w: &WorkerCtx,
) -> Option<tls_stream::TlsStream> {
    match tls_stream::accept(io, peeked, config, deadline).await {
        Ok(s) => {
            w.obs.metrics.borrow_mut().tls_handshakes[usize::from(s.resumed())] += 1;
            Some(s)
        }
        Err(e) => {
            log::debug!(
                "TLS handshake with {peer} (sni={}) failed: {e}",
                hello.sni.as_deref().unwrap_or("-")
            );
            None
        }
    }
}

async fn tcp_forward<R, W>(view: &View, ep: &EntryCtx, service: usize, r: R, w: W, initial: Vec<u8>)
where
    R: monoio::io::AsyncReadRent,
    W: monoio::io::AsyncWriteRent,
{
    let def = &view.snapshot.tcp.services[service];
    proxy::forward(r, w, initial, def, &view.tcp[service], ep.cfg.idle_timeout).await;
}
