//! Fuzzes the chunked decoder: the input is fed whole and in small pieces; both
//! must agree (same payload, same end) and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyd::http::codec::ChunkedDecoder;

/// Feeds `data` in pieces of at most `step` bytes; returns payload, bytes
/// consumed and whether the body ended, or `None` on a decoding error.
fn run(data: &[u8], step: usize) -> Option<(Vec<u8>, usize, bool)> {
    let mut dec = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    for piece in data.chunks(step.max(1)) {
        let progress = dec
            .feed(piece, &mut |r| out.extend_from_slice(&piece[r]))
            .ok()?;
        assert!(progress.consumed <= piece.len());
        consumed += progress.consumed;
        if progress.done {
            return Some((out, consumed, true));
        }
        assert_eq!(progress.consumed, piece.len());
    }
    Some((out, consumed, false))
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let whole = run(body, body.len());
    let split = run(body, usize::from(step % 16) + 1);
    // Errors and the end of the body sit at byte positions, and both runs stop
    // at the end, so any split must reach the same verdict.
    assert_eq!(whole, split);
});
