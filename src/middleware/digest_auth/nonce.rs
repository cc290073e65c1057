//! Self-validating nonces. A worker that issued a challenge keeps nothing: the
//! nonce is the issue time and an HMAC-SHA256 over it and the realm, under a
//! key drawn once per process. Any worker verifies it (same key, no shared
//! mutable state), and so does a middleware rebuilt by a reload, until it
//! expires ([`TTL`]). Nonce counts are not tracked: a captured request can be
//! replayed until its nonce expires, as a Basic credential can at any time.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::hmac;

/// How long a nonce is accepted. An older one with a correct response gets a
/// new challenge marked `stale="true"`, so clients retry without asking the
/// user again.
pub const TTL: Duration = Duration::from_secs(300);
/// A nonce issued this far in the future (a clock stepping back) still counts.
const SKEW: Duration = Duration::from_secs(5);
/// Issue time (8 bytes) and the first 16 bytes of the MAC, in hex.
pub const LEN: usize = 48;
const MAC_LEN: usize = 16;

/// What a presented nonce is.
#[derive(Debug, PartialEq, Eq)]
pub enum Nonce {
    Fresh,
    /// Ours, but older than [`TTL`].
    Stale,
    /// Not issued by this process (tampered, another process's, malformed).
    Forged,
}

/// The process's key, drawn on first use (the control thread compiles every
/// digestAuth before a worker runs one, so workers only read it).
fn key() -> &'static hmac::Key {
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("the system random source works")
    })
}

/// Nanoseconds since the Unix epoch.
pub fn now() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

fn mac(time: [u8; 8], realm: &[u8]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key());
    ctx.update(&time);
    ctx.update(realm);
    ctx.sign()
}

/// A nonce issued at `now` (nanoseconds) for `realm`.
pub fn issue(now: u64, realm: &[u8]) -> [u8; LEN] {
    let time = now.to_be_bytes();
    let mut raw = [0u8; 8 + MAC_LEN];
    raw[..8].copy_from_slice(&time);
    raw[8..].copy_from_slice(&mac(time, realm).as_ref()[..MAC_LEN]);
    let mut out = [0u8; LEN];
    hex(&raw, &mut out);
    out
}

/// Whether `nonce` was issued by this process for `realm`, and still fresh at `now`.
pub fn check(nonce: &[u8], realm: &[u8], now: u64) -> Nonce {
    let mut raw = [0u8; 8 + MAC_LEN];
    if nonce.len() != LEN || !unhex(nonce, &mut raw) {
        return Nonce::Forged;
    }
    let time: [u8; 8] = raw[..8].try_into().expect("8 bytes");
    if !ct_eq(&mac(time, realm).as_ref()[..MAC_LEN], &raw[8..]) {
        return Nonce::Forged;
    }
    let issued = u64::from_be_bytes(time);
    let nanos = |d: Duration| d.as_nanos() as u64;
    if issued > now.saturating_add(nanos(SKEW)) {
        Nonce::Forged
    } else if now.saturating_sub(issued) > nanos(TTL) {
        Nonce::Stale
    } else {
        Nonce::Fresh
    }
}

/// `opaque` for every challenge of this process: fixed, so a response to a
/// challenge from before a reload still matches.
pub fn opaque() -> String {
    let tag = hmac::sign(key(), b"digestAuth opaque");
    let mut out = [0u8; 32];
    hex(&tag.as_ref()[..16], &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Equal contents, in time that depends only on the lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lowercase hex of `bytes` into `out` (twice as long).
pub fn hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
}

fn unhex(text: &[u8], out: &mut [u8]) -> bool {
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        match (val(pair[0]), val(pair[1])) {
            (Some(h), Some(l)) => *o = h << 4 | l,
            _ => return false,
        }
    }
    true
}
