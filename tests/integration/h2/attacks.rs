//! The HTTP/2 attack limits, each driven by raw frames (h2c): the connection
//! is answered with GOAWAY (or the stream with RST_STREAM), another client is
//! still served, and proxyd's memory stays bounded. Which guard comes from
//! the h2 crate and which from proxyd: docs/architecture.md, "HTTP/2".

use std::io::Write;
use std::time::{Duration, Instant};

use super::frames::*;
use crate::common::config::{lb_service, router};
use crate::common::*;

const PING: u8 = 6;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const REFUSED_STREAM: u32 = 0x7;
/// More RSS than this after an attack is a leak, not noise.
const RSS_SLACK_KIB: u64 = 32 * 1024;

fn start_with(up: &Upstream, extra: &str) -> Proxy {
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let extra = extra.to_string();
    Proxy::start(&ProxyConfig::new(&dynamic).web(|ep| ep.extra = extra))
}

/// Sends `attack` on a fresh connection (proxyd may stop reading before it
/// is all taken, so writes give up after a while) and returns the GOAWAY's
/// error code, if one came.
fn attack(p: &Proxy, attack: &[u8]) -> Option<u32> {
    let mut s = open(p.addr());
    s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(attack);
    goaway(&mut s, Duration::from_secs(10))
}

/// After an attack: another client is served, and RSS grew by less than
/// the slack since `base`.
fn still_fine(p: &Proxy, base: u64) {
    assert_eq!(served(p), "200");
    let rss = p.rss_kib().unwrap();
    assert!(
        rss < base + RSS_SLACK_KIB,
        "RSS {rss} KiB, {base} KiB before"
    );
}

/// CVE-2024-27316 family: a header block that never ends (CONTINUATION
/// without END_HEADERS). The h2 crate counts the frames: GOAWAY.
#[test]
fn continuation_flood_gets_goaway() {
    let up = Upstream::echo("up");
    let p = start_with(&up, "");
    let base = p.rss_kib().unwrap();
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_STREAM, 1, &get_block());
    for _ in 0..20_000 {
        frame(&mut out, CONTINUATION, 0, 1, &[0x00, 1, b'x', 1, b'y']);
    }
    assert_eq!(attack(&p, &out), Some(ENHANCE_YOUR_CALM));
    assert_eq!(up.heads(), 0);
    still_fine(&p, base);
}

/// HPACK bomb: a 4,000-byte field put in the dynamic table once, then named
/// by a one-byte index 3,000 times (12 MB decoded from 7 KB). The decoded
/// list is bounded by maxHeaderBytes (1 MiB; the h2 crate's own bound is
/// 16 MiB): GOAWAY, nothing reaches the upstream.
#[test]
fn hpack_bomb_gets_goaway() {
    let up = Upstream::echo("up");
    let p = start_with(&up, "");
    let base = p.rss_kib().unwrap();
    let mut block = get_block();
    // Literal with incremental indexing, new name "x-bomb", value of 4000 bytes
    // (HPACK integer 4000 = 127 + 3873: 0x7f, 0xa1, 0x1e).
    block.extend_from_slice(&[0x40, 6]);
    block.extend_from_slice(b"x-bomb");
    block.extend_from_slice(&[0x7f, 0xa1, 0x1e]);
    block.extend_from_slice(&[b'b'; 4000]);
    // Index 62: the newest dynamic table entry.
    block.extend_from_slice(&[0xbe; 3000]);
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_STREAM_HEADERS, 1, &block);
    assert_eq!(attack(&p, &out), Some(ENHANCE_YOUR_CALM));
    assert_eq!(up.heads(), 0);
    still_fine(&p, base);
}

/// SETTINGS frames, each owed an ACK, sent without end: proxyd's control
/// frame budget ends the connection.
#[test]
fn settings_flood_gets_goaway() {
    let up = Upstream::echo("up");
    let p = start_with(&up, "");
    let base = p.rss_kib().unwrap();
    let mut out = Vec::new();
    for _ in 0..20_000 {
        frame(&mut out, SETTINGS, 0, 0, &[]);
    }
    assert_eq!(attack(&p, &out), Some(ENHANCE_YOUR_CALM));
    still_fine(&p, base);
}

/// PING frames, each owed a PING ACK: proxyd's control frame budget.
#[test]
fn ping_flood_gets_goaway() {
    let up = Upstream::echo("up");
    let p = start_with(&up, "");
    let base = p.rss_kib().unwrap();
    let mut out = Vec::new();
    for i in 0..20_000u64 {
        frame(&mut out, PING, 0, 0, &i.to_be_bytes());
    }
    assert_eq!(attack(&p, &out), Some(ENHANCE_YOUR_CALM));
    still_fine(&p, base);
}

/// Empty DATA frames (no payload, no END_STREAM) cost work and carry
/// nothing: the h2 crate allows 100 per connection, then GOAWAY.
#[test]
fn empty_data_flood_gets_goaway() {
    let up = Upstream::echo("up");
    let p = start_with(&up, "");
    let base = p.rss_kib().unwrap();
    let mut out = Vec::new();
    // A POST whose body never comes: HEADERS without END_STREAM.
    let mut block = get_block();
    block[0] = 0x83;
    frame(&mut out, HEADERS, END_HEADERS, 1, &block);
    for _ in 0..20_000 {
        frame(&mut out, DATA, 0, 1, &[]);
    }
    assert_eq!(attack(&p, &out), Some(ENHANCE_YOUR_CALM));
    still_fine(&p, base);
}

/// A client that never opens its window (SETTINGS_INITIAL_WINDOW_SIZE 0)
/// while fetching 64 MiB: proxyd reads from the upstream only what it may
/// send, and writeTimeout frees the stream (RST_STREAM) and the upstream.
#[test]
fn a_zero_window_stall_is_reset_after_write_timeout() {
    let up = Upstream::start("up", Behavior::pattern(64 << 20));
    let p = start_with(
        &up,
        "[entryPoints.web.transport.respondingTimeouts]\nwriteTimeout = \"1s\"\n",
    );
    let base = p.rss_kib().unwrap();
    let mut s = open(p.addr());
    let mut out = Vec::new();
    // SETTINGS_INITIAL_WINDOW_SIZE (0x4) = 0.
    frame(&mut out, SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 0]);
    frame(&mut out, HEADERS, END_STREAM_HEADERS, 1, &get_block());
    s.write_all(&out).unwrap();
    let started = Instant::now();
    let reset = read_until(&mut s, Duration::from_secs(10), |kind, stream, _| {
        kind == RST_STREAM && stream == 1
    });
    assert!(reset, "the stalled stream was reset");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(p.wait_log("status=499", Duration::from_secs(2)));
    still_fine(&p, base);
}

/// More streams than `http2.maxConcurrentStreams` at once: the extra ones
/// are refused (RST_STREAM REFUSED_STREAM), the others served.
#[test]
fn streams_over_max_concurrent_streams_are_refused() {
    let up = Upstream::start(
        "up",
        Behavior::fixed(200, b"ok").delay(Duration::from_millis(500)),
    );
    let p = start_with(&up, "[entryPoints.web.http2]\nmaxConcurrentStreams = 2\n");
    let mut s = open(p.addr());
    let mut out = Vec::new();
    for id in [1, 3, 5, 7] {
        frame(&mut out, HEADERS, END_STREAM_HEADERS, id, &get_block());
    }
    s.write_all(&out).unwrap();
    let (mut refused, mut answered) = (Vec::new(), Vec::new());
    read_until(&mut s, Duration::from_secs(10), |kind, stream, payload| {
        if kind == RST_STREAM && payload == REFUSED_STREAM.to_be_bytes() {
            refused.push(stream);
        }
        // `:status 200` is HPACK static index 8.
        if kind == HEADERS && payload.first() == Some(&0x88) {
            answered.push(stream);
        }
        answered.len() + refused.len() == 4
    });
    assert_eq!(refused, [5, 7]);
    answered.sort();
    assert_eq!(answered, [1, 3]);
}
