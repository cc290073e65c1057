//! rateLimit's hold over HTTP/2 when the client resets the held stream: the
//! request never reaches the upstream, and the connection and the worker
//! serve the next stream (the HTTP/1.1 and Redis cases, and the limit, are in
//! `middlewares_rate_limit_hold.rs`).

use std::io::Write;
use std::time::{Duration, Instant};

use super::frames::{END_STREAM_HEADERS, HEADERS, RST_STREAM, frame, get_block, open, read_until};
use crate::common::*;
use crate::middlewares_rate_limit_hold::{LEFT, config, debug};

/// RST_STREAM's CANCEL code.
const CANCEL: u32 = 0x8;

/// Sends `GET /` on stream `id` and waits for its `:status 200` (HPACK
/// static index 8).
fn get_ok(s: &mut std::net::TcpStream, id: u32) -> bool {
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_STREAM_HEADERS, id, &get_block());
    s.write_all(&out).unwrap();
    read_until(s, IO_TIMEOUT, |kind, stream, payload| {
        kind == HEADERS && stream == id && payload.first() == Some(&0x88)
    })
}

#[test]
fn rate_limit_hold_ends_when_the_http2_client_resets_the_stream() {
    let (up, text) = config("");
    let p = Proxy::start(&debug(&text));
    let mut s = open(p.addr());
    assert!(get_ok(&mut s, 1), "A takes the burst");
    // From A's answer, which follows its admission however slow the machine
    // (`middlewares_rate_limit_hold.rs` has the arithmetic).
    let a_done = Instant::now();
    std::thread::sleep(Duration::from_millis(100));
    // B: held about 400 ms; reset 100 ms into the wait.
    let mut out = Vec::new();
    frame(&mut out, HEADERS, END_STREAM_HEADERS, 3, &get_block());
    s.write_all(&out).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    out.clear();
    frame(&mut out, RST_STREAM, 0, 3, &CANCEL.to_be_bytes());
    s.write_all(&out).unwrap();
    // Past the end of B's hold (A + 526 ms).
    std::thread::sleep(Duration::from_millis(800).saturating_sub(a_done.elapsed()));
    assert!(get_ok(&mut s, 5), "the connection serves its next stream");
    assert_eq!(up.heads(), 2, "B was not forwarded: {:?}", up.requests());
    assert!(p.wait_log(LEFT, IO_TIMEOUT), "{}", p.log_text());
}
