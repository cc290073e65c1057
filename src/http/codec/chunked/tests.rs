use super::*;
use proptest::prelude::*;

/// Feeds `input` in pieces split at `splits` (sorted offsets); returns the payload,
/// the total consumed and whether the decoder finished.
fn decode_split(input: &[u8], splits: &[usize]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
    let mut dec = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut bounds: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&s| s <= input.len())
        .collect();
    bounds.push(input.len());
    let mut start = 0;
    for end in bounds {
        let end = end.max(start);
        let piece = &input[start..end];
        let p = dec.feed(piece, &mut |r| out.extend_from_slice(&piece[r]))?;
        consumed += p.consumed;
        if p.done {
            return Ok((out, consumed, true));
        }
        assert_eq!(p.consumed, piece.len(), "not done must consume everything");
        start = end;
    }
    Ok((out, consumed, false))
}

fn decode(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
    decode_split(input, &[])
}

fn err(input: &[u8]) -> &'static str {
    decode(input).unwrap_err().0
}

/// Encodes `payload` as chunks of the given sizes (0 sizes skipped, rest in one chunk).
fn encode(payload: &[u8], sizes: &[usize], ext: bool, trailers: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = payload;
    for &n in sizes.iter().chain(std::iter::once(&usize::MAX)) {
        let n = n.min(rest.len());
        if n == 0 {
            continue;
        }
        let ext = if ext { ";a=b ; c=\"d\"" } else { "" };
        out.extend_from_slice(format!("{n:X}{ext}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    out.extend_from_slice(b"0\r\n");
    if trailers {
        out.extend_from_slice(b"Expires: never\r\nX-Sum: 1\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

const SAMPLE: &[u8] =
    b"5;name=val\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\nNEXT";

#[test]
fn decodes_sample_and_stops_at_end() {
    let (out, consumed, done) = decode(SAMPLE).unwrap();
    assert!(done);
    assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz");
    assert_eq!(&SAMPLE[consumed..], b"NEXT");
}

#[test]
fn every_split_point_and_byte_by_byte() {
    for split in 0..SAMPLE.len() {
        let (out, consumed, done) = decode_split(SAMPLE, &[split]).unwrap();
        assert!(done);
        assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz");
        assert_eq!(consumed, SAMPLE.len() - 4);
    }
    let all: Vec<usize> = (0..SAMPLE.len()).collect();
    let (out, consumed, done) = decode_split(SAMPLE, &all).unwrap();
    assert!(done && consumed == SAMPLE.len() - 4);
    assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz");
}

#[test]
fn kept_trailers_are_the_field_lines_whatever_the_splits() {
    let body = b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nGrpc-Status: 0\r\n\r\n";
    for split in 0..body.len() {
        let mut dec = ChunkedDecoder::new();
        dec.keep_trailers();
        for piece in [&body[..split], &body[split..]] {
            dec.feed(piece, &mut |_| {}).unwrap();
        }
        assert!(dec.is_done());
        assert_eq!(dec.take_trailers(), b"X-Sum: 1\r\nGrpc-Status: 0\r\n");
    }
    let mut plain = ChunkedDecoder::new();
    plain.feed(body, &mut |_| {}).unwrap();
    assert!(plain.take_trailers().is_empty(), "kept only when asked");
}

#[test]
fn incomplete_is_not_done_and_done_is_sticky() {
    assert_eq!(decode(b"5\r\nhel").unwrap(), (b"hel".to_vec(), 6, false));
    let mut dec = ChunkedDecoder::new();
    assert!(dec.feed(b"0\r\n\r\n", &mut |_| {}).unwrap().done);
    assert!(dec.is_done());
    let p = dec
        .feed(b"more", &mut |_| panic!("no data after done"))
        .unwrap();
    assert_eq!(
        p,
        ChunkProgress {
            consumed: 0,
            done: true
        }
    );
    dec.reset();
    assert!(!dec.is_done());
}

#[test]
fn invalid_sizes() {
    assert_eq!(err(b"\r\n"), "missing chunk size");
    assert_eq!(err(b";x\r\n"), "missing chunk size");
    assert_eq!(err(b" 5\r\n"), "missing chunk size");
    assert_eq!(err(b"-5\r\n"), "missing chunk size");
    assert_eq!(err(b"5x\r\n"), "invalid chunk size");
    assert_eq!(err(b"0x5\r\n"), "invalid chunk size");
    assert_eq!(err(b"5 \r\n"), "invalid chunk size");
    assert_eq!(err(b"5\n"), "bare LF in chunk size line");
    assert_eq!(err(b"5\rx"), "chunk size line not ended by CRLF");
    assert_eq!(err(b"10000000000000000\r\n"), "chunk size too long");
    let (_, consumed, done) = decode(b"FFFFFFFFFFFFFFFF\r\n").unwrap();
    assert!(!done && consumed == 18);
    assert!(
        decode(b"5 \t;ext\r\nhello\r\n0\r\n\r\n").unwrap().2,
        "BWS before ';'"
    );
}

#[test]
fn data_must_end_with_crlf() {
    assert_eq!(err(b"1\r\naX"), "chunk data not followed by CRLF");
    assert_eq!(err(b"1\r\na\n"), "chunk data not followed by CRLF");
    assert_eq!(err(b"1\r\na\rX"), "chunk data not followed by CRLF");
}

#[test]
fn extension_limits() {
    let mut line = b"1;".to_vec();
    line.resize(MAX_CHUNK_LINE as usize - 2, b'x');
    line.extend_from_slice(b"\r\na\r\n0\r\n\r\n");
    assert!(decode(&line).unwrap().2, "exactly at the limit");
    let mut line = b"1;".to_vec();
    line.resize(MAX_CHUNK_LINE as usize - 1, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(err(&line), "chunk size line too long");
    assert_eq!(err(b"1;a\x00\r\n"), "invalid byte in chunk extension");
    assert_eq!(err(b"1;a\n"), "bare LF in chunk size line");
}

#[test]
fn trailer_rules_and_limits() {
    assert!(decode(b"0\r\nA: b\r\nC-D:\r\n\r\n").unwrap().2);
    assert_eq!(err(b"0\r\n b\r\n\r\n"), "invalid trailer field");
    assert_eq!(err(b"0\r\nA : b\r\n\r\n"), "invalid trailer field");
    assert_eq!(err(b"0\r\n:b\r\n\r\n"), "invalid trailer field");
    assert_eq!(err(b"0\r\nA: b\n"), "invalid byte in trailer field");
    assert_eq!(err(b"0\r\nA: b\rX"), "trailer line without LF");
    assert_eq!(err(b"0\r\n\rX"), "final CRLF missing");
    let mut body = b"0\r\nA: ".to_vec();
    body.resize(MAX_TRAILERS as usize + 3 - 4, b'v');
    body.extend_from_slice(b"\r\n\r\n");
    assert!(decode(&body).unwrap().2, "exactly at the limit");
    body.insert(6, b'v');
    assert_eq!(err(&body), "trailer section too large");
}

#[test]
fn error_is_sticky() {
    let mut dec = ChunkedDecoder::new();
    assert!(dec.feed(b"x", &mut |_| {}).is_err());
    assert!(dec.feed(b"0\r\n\r\n", &mut |_| {}).is_err());
}

proptest! {
    #[test]
    fn encode_decode_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..2048),
        sizes in proptest::collection::vec(0usize..300, 0..16),
        splits in proptest::collection::vec(0usize..2600, 0..12),
        ext in any::<bool>(),
        trailers in any::<bool>(),
    ) {
        let mut input = encode(&payload, &sizes, ext, trailers);
        let len = input.len();
        input.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let mut splits = splits;
        splits.sort_unstable();
        let (out, consumed, done) = decode_split(&input, &splits).unwrap();
        prop_assert!(done);
        prop_assert_eq!(consumed, len);
        prop_assert_eq!(out, payload);
    }

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&input);
    }

    #[test]
    fn chunk_like_bytes_never_panic(input in proptest::collection::vec(
        prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'0'), Just(b'1'), Just(b';'), Just(b':'), any::<u8>()], 0..256)) {
        let _ = decode(&input);
    }
}
