//! The client against a scripted server on a std thread: AUTH and SELECT on
//! connect, a pooled connection the server closed is replaced transparently,
//! and a silent server costs one read timeout, not a stall.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::*;

fn runtime() -> monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>> {
    monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .unwrap()
}

fn settings(addr: SocketAddr) -> Settings {
    Settings {
        endpoint: addr.to_string(),
        addr: Ok(addr),
        tls: None,
        username: String::new(),
        password: String::new(),
        db: 0,
        pool_size: 4,
        max_active: 0,
        dial_timeout: Duration::from_secs(2),
        read_timeout: Some(Duration::from_millis(300)),
        write_timeout: Some(Duration::from_secs(2)),
        min_idle: 0,
        seeds: Vec::new(),
    }
}

/// Reads one command (an array of bulk strings) from a blocking socket.
fn read_command(s: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Vec<Vec<u8>>> {
    loop {
        if let Ok(Some((resp::Reply::Array(Some(items)), used))) = resp::parse(pending) {
            pending.drain(..used);
            return Some(
                items
                    .into_iter()
                    .filter_map(|i| i.as_bytes().map(<[u8]>::to_vec))
                    .collect(),
            );
        }
        let mut chunk = [0u8; 1024];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A server that answers each command with `answer(command)` (`None`: close
/// the connection), reporting each command's words on `seen`.
fn server(answer: fn(&[Vec<u8>]) -> Option<&'static [u8]>) -> (SocketAddr, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let (mut s, tx) = (s.unwrap(), tx.clone());
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                while let Some(cmd) = read_command(&mut s, &mut pending) {
                    let words: Vec<String> = cmd
                        .iter()
                        .map(|w| String::from_utf8_lossy(w).into())
                        .collect();
                    let _ = tx.send(words.join(" "));
                    match answer(&cmd) {
                        Some(bytes) => s.write_all(bytes).unwrap(),
                        None => return,
                    }
                }
            });
        }
    });
    (addr, rx)
}

#[test]
fn authenticates_selects_and_reuses_the_connection() {
    let (addr, seen) = server(|_| Some(b"+OK\r\n"));
    let mut s = settings(addr);
    (s.username, s.password, s.db) = ("u".into(), "p".into(), 3);
    let client = Client::new(Arc::new(s));
    runtime().block_on(async {
        for _ in 0..2 {
            let reply = client.call(&[b"PING"]).await.unwrap();
            assert_eq!(reply, Reply::Simple(b"OK".to_vec()));
        }
    });
    let got: Vec<String> = seen.try_iter().collect();
    assert_eq!(got, ["AUTH u p", "SELECT 3", "PING", "PING"]);
    assert_eq!(client.open.get(), 1, "one pooled connection");
}

#[test]
fn a_connection_the_server_closed_is_replaced() {
    // Every second PING on a connection finds it closed.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let (addr, _seen) = server(
        |_| match N.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 2 {
            0 => Some(b"+PONG\r\n"),
            _ => None,
        },
    );
    let client = Client::new(Arc::new(settings(addr)));
    runtime().block_on(async {
        for i in 0..3 {
            let reply = client.call(&[b"PING"]).await;
            assert!(reply.is_ok(), "call {i}: {reply:?}");
        }
    });
}

#[test]
fn a_silent_server_costs_one_read_timeout() {
    let (addr, _seen) = server(|_| {
        std::thread::sleep(Duration::from_secs(5));
        None
    });
    let client = Client::new(Arc::new(settings(addr)));
    let start = Instant::now();
    let reply = runtime().block_on(client.call(&[b"PING"]));
    assert!(
        matches!(reply, Err(RedisError::Io(_, IoFail::Timeout))),
        "{reply:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(client.open.get(), 0, "the timed-out connection is closed");
}

#[test]
fn nobody_listening_fails_fast() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = Client::new(Arc::new(settings(port)));
    let reply = runtime().block_on(client.call(&[b"PING"]));
    assert!(matches!(reply, Err(RedisError::Dial(..))), "{reply:?}");
    assert_eq!(client.open.get(), 0);
}

/// `minIdleConns`: the first command starts dials of its own (tasks, not
/// the command's) until that many connections sit idle, and later commands
/// find them ready: no dial on their path.
#[test]
fn min_idle_conns_are_dialed_off_the_request_path_and_kept() {
    let (addr, seen) = server(|_| Some(b"+OK\r\n"));
    let mut s = settings(addr);
    (s.password, s.min_idle) = ("p".into(), 2);
    let client = Client::new(Arc::new(s));
    runtime().block_on(async {
        client.call(&[b"PING"]).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        // The command's own connection back, and the two dialed for it.
        while client.idle.borrow().len() < 3 {
            assert!(
                Instant::now() < deadline,
                "idle {}",
                client.idle.borrow().len()
            );
            monoio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..4 {
            client.call(&[b"PING"]).await.unwrap();
        }
        assert_eq!(client.filling.get(), 0, "still two idle: nothing to top up");
    });
    let got: Vec<String> = seen.try_iter().collect();
    let auths = got.iter().filter(|c| c.starts_with("AUTH")).count();
    assert_eq!(auths, 3, "{got:?}");
    assert_eq!(client.open.get(), 3);
}
