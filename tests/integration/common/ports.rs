//! Fixed ports for servers a test stops and starts again (a KV store, proxyd
//! restarted on the ports its ACME account knows), and for configs that must
//! name a port before anything listens on it.
//!
//! A port from binding port 0 lies in the kernel's ephemeral range: while its
//! server is down, any test running in parallel can get it from its own bind
//! to port 0 (and start its own server there) or as the source port of a
//! connection, and the restart then fails or reaches the wrong server (CI saw
//! a proxyd read another test's Redis). So these ports are drawn below that
//! range, where the kernel never hands out a port by itself; two tests drawing
//! the same one while it is down is a 1-in-thousands chance per draw, not a
//! matter of timing.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The lowest port drawn; below it sit the well-known services.
const LOWEST: u32 = 10_000;

/// A free port below the ephemeral range, that stays the test's to reuse.
pub fn fixed_port() -> u16 {
    let top = ephemeral_start().max(LOWEST + 1_000);
    let mut seed = seed();
    for _ in 0..1_000 {
        // xorshift: no crate for a few random numbers.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let port = (LOWEST + seed % (top - LOWEST)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {LOWEST}..{top}");
}

/// Where the kernel's ephemeral ports start (`ip_local_port_range`).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Differs per process and per call.
fn seed() -> u32 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    (nanos ^ std::process::id().rotate_left(16) ^ call.wrapping_mul(0x9E37_79B9)) | 1
}
