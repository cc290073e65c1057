//! Active health checks through the real binary: upstreams whose health
//! endpoint can start failing, hang or recover while the test runs, and what
//! proxyd does about it (traffic, 503, probe requests, reloads, metrics, API).

mod observe;
mod probes;
mod reload;
mod reuse;
mod traffic;

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::acceptor::Acceptor;
use crate::common::config::{lb_service, router};
use crate::common::io::{BufStream, Head};
use crate::common::upstream::{Seen, seen_head};
use crate::common::*;

/// Generous for a debug build on a busy two-core machine, short next to a CI job.
pub const LIMIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct State {
    /// Status of the health endpoint's answers.
    status: AtomicU16,
    /// The health endpoint reads the request and never answers.
    hang: AtomicBool,
    probes: Mutex<Vec<Seen>>,
    /// `Location` of the health endpoint's answers.
    location: Mutex<Option<String>>,
    /// Requests outside the health endpoint.
    traffic: AtomicUsize,
    /// A probe on a connection that already answered one is not answered:
    /// the connection closes (a server that dropped an idle connection).
    drop_kept: AtomicBool,
    /// Body of the health endpoint's answers: `Content-Length` framed, or
    /// chunked when `chunked` is set.
    body: Mutex<String>,
    chunked: AtomicBool,
}

/// A test server with a health endpoint (every target starting with `prefix`)
/// answering a status the test sets, and everything else answered `200` with
/// its name as the body; keep-alive for both.
pub struct HealthUpstream {
    acceptor: Acceptor,
    state: Arc<State>,
}

impl HealthUpstream {
    pub fn start(name: &str, prefix: &str) -> HealthUpstream {
        let state = Arc::new(State::default());
        state.status.store(200, Ordering::SeqCst);
        let (st, nm, px) = (state.clone(), name.to_string(), prefix.to_string());
        let acceptor = Acceptor::start(move |conn, id, stop| {
            let _ = serve(conn, id, &nm, &px, &st, stop);
        });
        HealthUpstream { acceptor, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    pub fn set_location(&self, location: &str) {
        *self.state.location.lock().unwrap() = Some(location.into());
    }

    pub fn drop_kept(&self, on: bool) {
        self.state.drop_kept.store(on, Ordering::SeqCst);
    }

    pub fn set_body(&self, body: &str, chunked: bool) {
        *self.state.body.lock().unwrap() = body.into();
        self.state.chunked.store(chunked, Ordering::SeqCst);
    }

    /// How many connections the probes came on.
    pub fn probe_connections(&self) -> usize {
        let mut conns: Vec<usize> = self.probes().iter().map(|s| s.conn).collect();
        conns.dedup();
        conns.len()
    }

    pub fn hang(&self, on: bool) {
        self.state.hang.store(on, Ordering::SeqCst);
    }

    pub fn probes(&self) -> Vec<Seen> {
        self.state.probes.lock().unwrap().clone()
    }

    pub fn probe_count(&self) -> usize {
        self.state.probes.lock().unwrap().len()
    }

    pub fn traffic(&self) -> usize {
        self.state.traffic.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` probes arrived.
    pub fn wait_probes(&self, n: usize) -> bool {
        poll_until(LIMIT, Duration::from_millis(5), || {
            (self.probe_count() >= n).then_some(())
        })
        .is_some()
    }
}

fn serve(
    stream: TcpStream,
    conn: usize,
    name: &str,
    prefix: &str,
    st: &State,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut io = BufStream::new(stream);
    // Pooled connections from the proxy may sit idle while a test waits.
    io.io_timeout = Duration::from_secs(60);
    let mut probed = false;
    loop {
        let Some(raw) = io.read_head()? else {
            return Ok(());
        };
        let head = Head::parse(&raw)?;
        let seen = seen_head(conn, &head);
        if !seen.target.starts_with(prefix) {
            st.traffic.fetch_add(1, Ordering::SeqCst);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                name.len()
            );
            io.write_all(answer.as_bytes())?;
            continue;
        }
        if probed && st.drop_kept.load(Ordering::SeqCst) {
            return Ok(());
        }
        probed = true;
        st.probes.lock().unwrap().push(seen);
        if st.hang.load(Ordering::SeqCst) {
            // Until the prober gives up and closes (or the test ends).
            io.io_timeout = Duration::from_millis(100);
            while !stop.load(Ordering::SeqCst) {
                match io.fill() {
                    Ok(0) => return Ok(()),
                    Err(e)
                        if e.kind() != io::ErrorKind::WouldBlock
                            && e.kind() != io::ErrorKind::TimedOut =>
                    {
                        return Ok(());
                    }
                    _ => {}
                }
            }
            return Ok(());
        }
        let status = st.status.load(Ordering::SeqCst);
        let location = match &*st.location.lock().unwrap() {
            Some(l) => format!("Location: {l}\r\n"),
            None => String::new(),
        };
        let body = st.body.lock().unwrap().clone();
        let framed = if st.chunked.load(Ordering::SeqCst) {
            format!(
                "Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            )
        } else {
            format!("Content-Length: {}\r\n\r\n{body}", body.len())
        };
        let answer = format!("HTTP/1.1 {status} Probe\r\n{location}{framed}");
        io.write_all(answer.as_bytes())?;
    }
}

/// Router `app` (Host app.test) → service `app` over `urls`, with the given
/// lines in its `healthCheck` table.
pub fn checked_app(urls: &[String], health: &str) -> String {
    format!(
        "{}{}[http.services.app.loadBalancer.healthCheck]\n{health}",
        router("app", "Host(`app.test`)", "app"),
        lb_service("app", urls),
    )
}

/// The log line of a change of state.
pub fn change(server: &HealthUpstream, state: &str) -> String {
    format!("service=app@file server={} {state}", server.url())
}

/// Waits for `server`'s change of state in the log.
pub fn wait_change(p: &Proxy, server: &HealthUpstream, state: &str) {
    let line = change(server, state);
    assert!(
        p.wait_log(&line, LIMIT),
        "no {line:?} within {LIMIT:?}; log:\n{}",
        p.log_text()
    );
}

/// Which upstream answered each of `n` requests to app.test, on one connection.
pub fn answers(p: &Proxy, n: usize) -> Vec<String> {
    let mut c = Client::connect(p.addr());
    (0..n)
        .map(|_| {
            let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
            assert_eq!(r.status, 200, "{}", r.text());
            r.text()
        })
        .collect()
}
