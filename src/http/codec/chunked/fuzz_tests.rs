//! Stable fuzz target for the streaming chunked decoder: well-formed bodies
//! built from parts (sizes in any case with leading zeros, extensions,
//! trailers) followed by the next message's bytes, and the same mutated. The
//! decoder must give the same payload, the same end and the same error however
//! the input is split across calls, never report more consumed than it was
//! given, and decode a well-formed body exactly, leaving what follows it.

use proptest::prelude::*;

use super::ChunkedDecoder;
use crate::fuzz_tests::{config, cuts, fuzz_input, pieces};

/// Payload handed out, bytes consumed, whether the body ended; or the error.
type Outcome = Result<(Vec<u8>, usize, bool), &'static str>;

/// Feeds `input` piece by piece the way the body relay does: after `done`,
/// the rest belongs to the next message and is not fed.
fn decode(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut dec = ChunkedDecoder::new();
    let mut payload = Vec::new();
    let mut consumed = 0;
    for piece in pieces(input, cuts) {
        let mut ranges_ok = true;
        let progress = dec
            .feed(piece, &mut |r| {
                ranges_ok &= r.start <= r.end && r.end <= piece.len();
                if ranges_ok {
                    payload.extend_from_slice(&piece[r]);
                }
            })
            .map_err(|e| e.0)?;
        assert!(ranges_ok, "payload range outside the input");
        assert!(progress.consumed <= piece.len());
        consumed += progress.consumed;
        if progress.done {
            assert!(dec.is_done());
            return Ok((payload, consumed, true));
        }
        assert_eq!(progress.consumed, piece.len(), "stopped early without done");
    }
    Ok((payload, consumed, false))
}

/// One chunk: payload, hex digits' case and leading zeros, an extension.
fn chunk() -> impl Strategy<Value = (Vec<u8>, bool, usize, Option<String>)> {
    (
        prop::collection::vec(any::<u8>(), 1..300),
        any::<bool>(),
        0usize..4,
        prop::option::of("[ \t]{0,2};[a-z]{1,5}(=([a-z0-9]{1,5}|\"[a-z ]{0,5}\"))?"),
    )
}

/// A well-formed chunked body, its payload, and the next message's bytes.
fn well_formed() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<u8>)> {
    (
        prop::collection::vec(chunk(), 0..6),
        0usize..3,
        prop::collection::vec("[A-Za-z-]{1,10}: ?[ -~]{0,20}", 0..3),
        prop_oneof![
            Just(Vec::new()),
            Just(b"GET /next HTTP/1.1\r\n\r\n".to_vec())
        ],
    )
        .prop_map(|(chunks, last_zeros, trailers, next)| {
            let mut body = Vec::new();
            let mut payload = Vec::new();
            for (data, upper, zeros, ext) in chunks {
                let hex = format!("{}{:x}", "0".repeat(zeros), data.len());
                let hex = if upper { hex.to_uppercase() } else { hex };
                body.extend_from_slice(hex.as_bytes());
                body.extend_from_slice(ext.unwrap_or_default().as_bytes());
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(&data);
                body.extend_from_slice(b"\r\n");
                payload.extend_from_slice(&data);
            }
            body.extend_from_slice("0".repeat(last_zeros + 1).as_bytes());
            body.extend_from_slice(b"\r\n");
            for t in trailers {
                body.extend_from_slice(t.as_bytes());
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"\r\n");
            (body, payload, next)
        })
}

const SEEDS: &[&[u8]] = &[
    b"5\r\nhello\r\n0\r\n\r\n",
    b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
    b"00005 ;a=\"b c\"\r\nhello\r\n000\r\n\r\nGET / HTTP/1.1\r\n",
    b"A\r\n0123456789\r\n0\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"10000000000000000\r\n",
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"-1\r\n",
    b"5\nhello\n0\n\n",
    b"5\r\nhelloXX0\r\n\r\n",
    b"0\r\nX-Smuggle: 1\r\nContent-Length: 5\r\n\r\n",
    b"1\r\na\r\n0\r\n\r\n",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_chunked_any_split_same_outcome(
        input in fuzz_input(SEEDS.iter().map(|s| s.to_vec()).collect(), 256),
        cuts in cuts(),
    ) {
        let whole = decode(&input, &[]);
        prop_assert_eq!(&whole, &decode(&input, &[]));
        let split = decode(&input, &cuts);
        prop_assert_eq!(&whole, &split);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&whole, &decode(&input, &bytewise));
    }

    #[test]
    fn fuzz_chunked_well_formed_decodes_exactly(
        (body, payload, next) in well_formed(),
        cuts in cuts(),
    ) {
        let mut input = body.clone();
        input.extend_from_slice(&next);
        let expect: Outcome = Ok((payload, body.len(), true));
        prop_assert_eq!(&decode(&input, &[]), &expect);
        prop_assert_eq!(&decode(&input, &cuts), &expect);
    }
}
