//! A worker's accept loop for one listener: admit (or refuse) each new connection
//! and hand it to `dispatch::serve_conn`; on an accept failure, log at most one
//! line a second per entry point and back off without spinning.
//!
//! Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the pending
//! connection stays in the kernel's backlog and retrying at once would fail again,
//! so the loop waits for `RESOURCE_BACKOFF` or until a connection of this worker
//! closes (which frees a descriptor), whichever comes first. Other failures
//! (usually one client that left before it was accepted) wait `OTHER_BACKOFF`.

use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use monoio::io::CancelHandle;
use monoio::net::{TcpListener, TcpStream};

use super::dispatch;
use crate::worker::admission::{OpenGuard, refuse};
use crate::worker::{EntryCtx, WorkerCtx};

/// Longest wait after running out of descriptors or memory.
const RESOURCE_BACKOFF: Duration = Duration::from_millis(100);
/// Wait after any other accept failure.
const OTHER_BACKOFF: Duration = Duration::from_millis(10);

pub async fn accept_loop(
    listener: Rc<TcpListener>,
    ep: Rc<EntryCtx>,
    w: Rc<WorkerCtx>,
    cancel: CancelHandle,
) {
    loop {
        match listener.cancelable_accept(cancel.clone()).await {
            Ok((stream, peer)) => {
                let Some(open) = OpenGuard::admit(&w, &ep) else {
                    refused(stream, &ep, &w);
                    continue;
                };
                // Small requests and responses must not wait for Nagle.
                let _ = stream.set_nodelay(true);
                monoio::spawn(dispatch::serve_conn(
                    stream,
                    peer,
                    ep.clone(),
                    w.clone(),
                    open,
                ));
            }
            Err(_) if w.shutdown.is_fired() => return,
            Err(e) => {
                failed(&e, &ep, &w);
                back_off(&e, &w).await;
            }
        }
    }
}

fn failed(e: &io::Error, ep: &EntryCtx, w: &WorkerCtx) {
    if let Some(n) = w.obs.metrics.borrow_mut().accept_errors.get_mut(ep.index) {
        *n += 1;
    }
    if let Some(left_out) = ep.accept_log.allow(Instant::now()) {
        log::warn!(
            "entrypoint={}: accept failed: {e} (worker {}; {left_out} more since the last such line)",
            ep.cfg.name,
            w.index
        );
    }
}

fn refused(stream: TcpStream, ep: &EntryCtx, w: &WorkerCtx) {
    refuse(stream, speaks_plain_http(ep, w));
    if let Some(n) = w.obs.metrics.borrow_mut().refused.get_mut(ep.index) {
        *n += 1;
    }
    if let Some(left_out) = ep.refuse_log.allow(Instant::now()) {
        let max = ep.limit.as_ref().map_or(0, |l| l.max());
        log::warn!(
            "entrypoint={}: connection refused: maxConnections={max} reached (worker {}; {left_out} more since the last such line)",
            ep.cfg.name,
            w.index
        );
    }
}

/// Whether a refused client gets the HTTP 503: only where every connection is
/// plaintext HTTP (no TLS routers, no TCP routers), so a TLS or TCP client never
/// reads HTTP bytes it cannot parse.
fn speaks_plain_http(ep: &EntryCtx, w: &WorkerCtx) -> bool {
    let view = w.view();
    let snap = &view.snapshot;
    let (tcp_tls, tcp_plain) = snap.tcp.kinds(ep.index);
    ep.cfg.http_tls.is_none() && !tcp_tls && !tcp_plain && snap.tls_tables[ep.index].is_empty()
}

async fn back_off(e: &io::Error, w: &WorkerCtx) {
    if !out_of_resources(e) {
        monoio::time::sleep(OTHER_BACKOFF).await;
        return;
    }
    monoio::select! {
        _ = monoio::time::sleep(RESOURCE_BACKOFF) => {},
        _ = w.closes.next() => {},
    }
}

fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_errors_are_told_apart() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(out_of_resources(&io::Error::from_raw_os_error(code)));
        }
        let aborted = io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert!(!out_of_resources(&aborted));
    }
}
