//! A scripted h2c upstream that speaks HTTP/2 frame by frame (std only, a
//! thread per connection): what it does with each stream is decided by a
//! script from the connection's number and the stream's ordinal on it, so a
//! test can refuse, reset, delay or GOAWAY exactly where it wants. Requests
//! are not HPACK-decoded (the script does not need them); request bodies are
//! counted and hashed, and flow control is honoured both ways (WINDOW_UPDATE
//! for what it receives, the peer's windows for what it sends).

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use conn::Conn;

mod conn;

/// What to do with one stream once its request ended.
#[derive(Clone, Debug)]
pub enum Action {
    /// 200 with `conn=N` as the body (the connection that answered).
    Ok,
    /// 200 with the request body's length and FNV hash, `len fnv`.
    Sink,
    /// 200 with a pattern body of this length (`common::Pattern`).
    Big(u64),
    /// RST_STREAM REFUSED_STREAM, nothing processed.
    Refuse,
    /// A 200 head, a DATA frame with these bytes, then RST_STREAM INTERNAL_ERROR.
    ResetAfter(&'static [u8]),
    /// GOAWAY whose last stream is the one before this (this stream is left
    /// unprocessed), sent as soon as the stream's HEADERS arrive.
    GoAwayBefore,
}

/// An action, after a delay counted from the end of the request.
#[derive(Clone, Debug)]
pub struct Plan {
    pub delay: Duration,
    pub action: Action,
}

pub fn now(action: Action) -> Plan {
    Plan {
        delay: Duration::ZERO,
        action,
    }
}

/// The script: (connection number from 0, stream ordinal on it from 0) → plan.
pub type Script = dyn Fn(usize, usize) -> Plan + Send + Sync;

#[derive(Default)]
pub struct Seen {
    /// Streams opened, per connection.
    pub streams: Vec<usize>,
    /// Most streams open at once, per connection.
    pub peak_open: Vec<usize>,
    /// Connections the peer closed.
    pub closed: usize,
    /// Each ended request's body: (length, FNV hash).
    pub bodies: Vec<(u64, u64)>,
}

pub struct FrameServer {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// Settings this server announces.
#[derive(Clone, Copy, Default)]
pub struct Settings {
    pub max_concurrent_streams: Option<u32>,
}

impl FrameServer {
    pub fn start(
        settings: Settings,
        script: impl Fn(usize, usize) -> Plan + Send + Sync + 'static,
    ) -> FrameServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (s, st) = (seen.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let Ok((tcp, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let conn = {
                    let mut seen = s.lock().unwrap();
                    seen.streams.push(0);
                    seen.peak_open.push(0);
                    seen.streams.len() - 1
                };
                let (s, st, script) = (s.clone(), st.clone(), script.clone());
                std::thread::spawn(move || {
                    let mut c = Conn::new(tcp, conn, settings, s.clone(), script);
                    let _ = c.run(&st);
                    s.lock().unwrap().closed += 1;
                });
            }
        });
        FrameServer {
            port,
            seen,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("h2c://127.0.0.1:{}", self.port)
    }

    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap())
    }

    /// Waits until `n` streams were opened over all connections.
    pub fn wait_streams(&self, n: usize, limit: Duration) -> bool {
        crate::common::poll_until(limit, Duration::from_millis(5), || {
            (self.seen(|s| s.streams.iter().sum::<usize>()) >= n).then_some(())
        })
        .is_some()
    }
}

impl FrameServer {
    /// Waits until the peer closed `n` connections.
    pub fn wait_closed(&self, n: usize, limit: Duration) -> bool {
        crate::common::poll_until(limit, Duration::from_millis(5), || {
            (self.seen(|s| s.closed) >= n).then_some(())
        })
        .is_some()
    }
}

impl Drop for FrameServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}
