//! `openssl s_client` as a test client: an OpenSSL peer is what reports a close
//! without close_notify (`unexpected eof while reading`) and what real clients
//! (curl, wrk) resume sessions with. Its output (stdout and stderr) is gathered
//! by two threads; every wait has a deadline.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::poll_until;

/// What OpenSSL prints when the server closed without close_notify.
pub const UNEXPECTED_EOF: &str = "unexpected eof";

pub struct SClient {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<String>>,
}

fn gather(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
}

impl SClient {
    /// Connects to `addr` with SNI a.test; `extra` are more s_client flags. Input
    /// EOF is ignored: openssl ends only when the server closes.
    pub fn start(addr: SocketAddr, extra: &[&str]) -> SClient {
        let mut child = Command::new("openssl")
            .args(["s_client", "-connect", &addr.to_string()])
            .args(["-servername", "a.test", "-ign_eof"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl s_client (.ci/run installs openssl)");
        let out = Arc::new(Mutex::new(String::new()));
        gather(child.stdout.take().unwrap(), out.clone());
        gather(child.stderr.take().unwrap(), out.clone());
        SClient {
            stdin: child.stdin.take(),
            child,
            out,
        }
    }

    pub fn send(&mut self, data: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(data.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until the output contains `needle`.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(20), || {
            self.output().contains(needle).then_some(())
        })
        .is_some()
    }

    /// Waits for openssl to exit because the server closed (killed after
    /// `limit`, then it panics), and returns everything it printed.
    pub fn finish(mut self, limit: Duration) -> String {
        drop(self.stdin.take());
        let deadline = Instant::now() + limit;
        let exited = poll_until(limit, Duration::from_millis(20), || {
            self.child.try_wait().unwrap()
        });
        if exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "openssl did not see the server close within {limit:?}:\n{}",
                self.output()
            );
        }
        // The gathering threads end at EOF, just after the exit.
        let _ = poll_until(
            deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(200),
            Duration::from_millis(10),
            || Arc::strong_count(&self.out).eq(&1).then_some(()),
        );
        self.output()
    }
}

impl Drop for SClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts a clean close: the server's close_notify came before its TCP close.
pub fn assert_clean(out: &str, what: &str) {
    assert!(
        !out.to_ascii_lowercase().contains(UNEXPECTED_EOF),
        "{what}: closed without close_notify:\n{out}"
    );
}
