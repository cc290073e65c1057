//! The accept loop the test upstreams share: a listener on 127.0.0.1:0 whose
//! connections are numbered from 1 and each served on a thread of its own,
//! until the acceptor is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Acceptor {
    addr: SocketAddr,
    conns: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    /// Calls `serve(stream, id, stop)` on a new thread for each connection;
    /// `stop` turns true when the acceptor is dropped.
    pub fn start<F>(serve: F) -> Acceptor
    where
        F: Fn(TcpStream, usize, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test upstream");
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let (cn, sp) = (Arc::clone(&conns), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let id = cn.fetch_add(1, Ordering::SeqCst) + 1;
                let (serve, sp) = (Arc::clone(&serve), Arc::clone(&sp));
                std::thread::spawn(move || serve(conn, id, &sp));
            }
        });
        Acceptor {
            addr,
            conns,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.conns.load(Ordering::SeqCst)
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}
