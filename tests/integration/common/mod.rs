//! Test harness shared by every integration test module.
//!
//! - [`proxy`]: starts the real `proxyd` binary with generated configs in a temp
//!   dir, reads the bound ports from its log, kills it on drop.
//! - [`upstream`]: tiny std-thread HTTP/1.1 servers that record what they saw.
//! - [`client`]: a tiny raw HTTP/1.1 client with deadlines everywhere.

#![allow(dead_code)]

pub mod acceptor;
pub mod behavior;
pub mod client;
pub mod config;
pub mod io;
pub mod ports;
pub mod proxy;
pub mod refused;
pub mod scripted;
pub mod upstream;

use std::time::{Duration, Instant};

pub use client::Client;
pub use config::{EntryPoint, ProxyConfig};
pub use proxy::Proxy;
pub use refused::refused_url;
pub use scripted::{Scripted, Step};
pub use upstream::{Behavior, Upstream};

/// Default per-operation socket timeout: long enough for a debug build under
/// load, short enough that a hung proxy fails the test instead of the CI job.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a test waits for a log line that follows what it just saw: proxyd's
/// stderr is read by another thread, so a line can land after the answer.
pub const LOG_WAIT: Duration = Duration::from_secs(10);

/// Polls `f` until it returns `Some`, sleeping `step` between tries, for at
/// most `limit`. Returns `None` on timeout.
pub fn poll_until<T>(
    limit: Duration,
    step: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(step);
    }
}

/// FNV-1a 64, streaming. Used by both sides to compare bodies without
/// buffering them.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, data: &[u8]) {
        let mut h = self.0;
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    pub fn of(data: &[u8]) -> u64 {
        let mut f = Fnv::default();
        f.update(data);
        f.0
    }
}

/// A deterministic, position-dependent byte stream (`byte[i] = i % 251`),
/// generated on the fly in 64 KiB-ish blocks so that 100 MB bodies never sit
/// in memory.
pub struct Pattern {
    block: Vec<u8>,
    remaining: u64,
}

impl Pattern {
    /// 251 * 256: a block length that is a multiple of the period, so blocks
    /// can be emitted back to back without tracking the offset.
    const BLOCK: usize = 251 * 256;

    pub fn new(len: u64) -> Pattern {
        let block = (0..Self::BLOCK).map(|i| (i % 251) as u8).collect();
        Pattern {
            block,
            remaining: len,
        }
    }

    /// The next piece of the stream, or `None` at the end.
    pub fn next_chunk(&mut self) -> Option<&[u8]> {
        if self.remaining == 0 {
            return None;
        }
        let n = self.remaining.min(Self::BLOCK as u64) as usize;
        self.remaining -= n as u64;
        Some(&self.block[..n])
    }

    /// FNV-1a of the first `len` bytes of the stream.
    pub fn fnv(len: u64) -> u64 {
        let mut p = Pattern::new(len);
        let mut h = Fnv::default();
        while let Some(c) = p.next_chunk() {
            h.update(c);
        }
        h.0
    }
}
