//! A scripted upstream: for each request it receives, a test-supplied function
//! returns the exact bytes to send and what to do around them (pause, read the
//! body early or late, hold the connection silent, close, reset). It is how
//! tests play a broken or hostile origin: bytes past the framed response,
//! stalls mid-body, early answers. Requests are recorded like [`Upstream`]'s,
//! and the connections the proxy still holds open are counted, so a test can
//! tell when the proxy let go of an upstream socket.
//!
//! [`Upstream`]: super::upstream::Upstream

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::acceptor::Acceptor;
use super::io::{BufStream, Head};
use super::poll_until;
use super::upstream::{Seen, read_body, seen_head};

/// One action of a script, run in order after a request head arrived.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes.
    Send(Vec<u8>),
    Pause(Duration),
    /// Read the request body now. Without this step the body is read before
    /// the first step; with it, steps before it answer early.
    ReadBody,
    /// Shut down our write side and stop serving this connection.
    Close,
    /// Close with RST (SO_LINGER 0).
    Reset,
    /// Stay silent for this long while watching for the proxy closing the
    /// connection (which ends the script); then go on with the next step.
    Hold(Duration),
}

/// `Step::Send` of `bytes`.
pub fn send(bytes: &[u8]) -> Step {
    Step::Send(bytes.to_vec())
}

/// A complete `200 OK` with a Content-Length body.
pub fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

type Script = dyn Fn(&Seen, usize) -> Vec<Step> + Send + Sync;

#[derive(Default)]
struct State {
    open: AtomicUsize,
    /// Connections the proxy closed (we saw EOF or a reset from it).
    closed_by_peer: AtomicUsize,
    /// Requests whose script has ended, however it ended.
    finished: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

pub struct Scripted {
    acceptor: Acceptor,
    state: Arc<State>,
}

impl Scripted {
    /// Serves every connection with `script(request, index on this connection)`,
    /// request after request, until a step closes it or the proxy does.
    pub fn start<F>(script: F) -> Scripted
    where
        F: Fn(&Seen, usize) -> Vec<Step> + Send + Sync + 'static,
    {
        let state = Arc::new(State::default());
        let st = Arc::clone(&state);
        let acceptor = Acceptor::start(move |conn, id, stop| {
            st.open.fetch_add(1, Ordering::SeqCst);
            let by_peer = serve(conn, id, &script, &st, stop).unwrap_or(true);
            if by_peer {
                st.closed_by_peer.fetch_add(1, Ordering::SeqCst);
            }
            st.open.fetch_sub(1, Ordering::SeqCst);
        });
        Scripted { acceptor, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.acceptor.connections()
    }

    /// Connections still open on our side.
    pub fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// Connections that ended because the proxy closed or reset them.
    pub fn closed_by_peer(&self) -> usize {
        self.state.closed_by_peer.load(Ordering::SeqCst)
    }

    /// Requests received so far (with their bodies once read), in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    pub fn wait_requests(&self, n: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(5), || {
            (self.state.seen.lock().unwrap().len() >= n).then_some(())
        })
        .is_some()
    }

    /// Requests whose script has ended so far.
    pub fn finished(&self) -> usize {
        self.state.finished.load(Ordering::SeqCst)
    }

    /// Waits until the scripts of at least `n` requests ended (every byte,
    /// late ones included, was sent, or the connection ended first).
    pub fn wait_finished(&self, n: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(5), || {
            (self.state.finished.load(Ordering::SeqCst) >= n).then_some(())
        })
        .is_some()
    }

    /// Waits until at most `n` connections are still open.
    pub fn wait_open_at_most(&self, n: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(5), || {
            (self.open() <= n).then_some(())
        })
        .is_some()
    }
}

/// Serves one connection; `Ok(true)` when the proxy ended it.
fn serve(
    stream: TcpStream,
    conn: usize,
    script: &Script,
    st: &State,
    stop: &AtomicBool,
) -> io::Result<bool> {
    let mut io = BufStream::new(stream);
    io.io_timeout = Duration::from_secs(60);
    let mut index = 0;
    loop {
        let Some(raw) = io.read_head()? else {
            return Ok(true);
        };
        let head = Head::parse(&raw)?;
        let mut seen = seen_head(conn, &head);
        let steps = script(&seen, index);
        index += 1;
        let body_first = !steps.iter().any(|s| matches!(s, Step::ReadBody));
        if body_first {
            read_body(&mut io, &head, &mut seen)?;
        }
        let slot = {
            let mut all = st.seen.lock().unwrap();
            all.push(seen.clone());
            all.len() - 1
        };
        let ended = run_steps(&mut io, steps, &head, &mut seen, slot, st, stop);
        // Counted however the script ended (done, closed, reset, write failed):
        // a test waiting for it must never wait for nothing.
        st.finished.fetch_add(1, Ordering::SeqCst);
        if let Some(by_peer) = ended? {
            return Ok(by_peer);
        }
    }
}

/// Runs one request's steps; `Some(by_peer)` when the connection ended.
fn run_steps(
    io: &mut BufStream,
    steps: Vec<Step>,
    head: &Head,
    seen: &mut Seen,
    slot: usize,
    st: &State,
    stop: &AtomicBool,
) -> io::Result<Option<bool>> {
    for step in steps {
        match step {
            Step::Send(b) => io.write_all(&b)?,
            Step::Pause(d) => std::thread::sleep(d),
            Step::ReadBody => {
                read_body(io, head, seen)?;
                st.seen.lock().unwrap()[slot] = seen.clone();
            }
            Step::Close => {
                let _ = io.stream.shutdown(std::net::Shutdown::Write);
                return Ok(Some(false));
            }
            Step::Reset => {
                let _ = socket2::SockRef::from(&io.stream).set_linger(Some(Duration::ZERO));
                return Ok(Some(false));
            }
            Step::Hold(d) => {
                if hold(&mut io.stream, d, stop)? {
                    return Ok(Some(true));
                }
            }
        }
    }
    Ok(None)
}

/// Reads (and drops) whatever comes for `d`; true if the peer closed meanwhile.
fn hold(stream: &mut TcpStream, d: Duration, stop: &AtomicBool) -> io::Result<bool> {
    let end = Instant::now() + d;
    let mut sink = [0u8; 4096];
    while Instant::now() < end && !stop.load(Ordering::SeqCst) {
        stream.set_read_timeout(Some(Duration::from_millis(20)))?;
        match stream.read(&mut sink) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Ok(true),
        }
    }
    Ok(false)
}
