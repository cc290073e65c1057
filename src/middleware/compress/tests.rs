//! Negotiation on the cases of Traefik's acceptencoding_test.go, and the
//! response rules.

use super::*;
use crate::router::HeaderLookup;

struct Hdrs(Vec<(&'static str, &'static str)>);
impl HeaderLookup for Hdrs {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| f(v.as_bytes()))
    }
}

fn compress(encodings: &[Encoding], default: Option<Encoding>) -> Arc<Compress> {
    Arc::new(Compress {
        excludes: vec![MediaType::parse("application/grpc").unwrap()],
        includes: vec![],
        min_size: DEFAULT_MIN_RESPONSE_BODY_BYTES,
        encodings: encodings.to_vec(),
        default_encoding: default,
    })
}

fn chosen(
    m: &Arc<Compress>,
    method: &str,
    headers: Vec<(&'static str, &'static str)>,
) -> Option<Encoding> {
    let headers = Hdrs(headers);
    let req = RequestInfo {
        method: method.as_bytes(),
        host: b"app.test",
        path: b"/",
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &headers,
        tls: false,
        forwarded_trusted: true,
        client_certs: None,
    };
    let mut e = Edits::default();
    assert_eq!(apply(m, &req, &mut e), Flow::Next);
    let vary = e
        .response_edits()
        .any(|(_, n, v)| n == b"Vary" && v == b"Accept-Encoding");
    let c = e.compression().map(|(_, enc)| *enc);
    assert_eq!(vary, c.is_some());
    c
}

/// (Accept-Encoding, encodings, defaultEncoding, expected)
type Case = (
    &'static str,
    &'static [Encoding],
    Option<Encoding>,
    Option<Encoding>,
);

#[test]
fn accept_encoding_as_traefik_negotiates_it() {
    use Encoding::*;
    const ALL: &[Encoding] = &[Gzip, Br, Zstd];
    let cases: &[Case] = &[
        ("", ALL, None, None),
        ("gzip, br", ALL, None, Some(Gzip)),
        ("compress, gzip", ALL, None, Some(Gzip)),
        ("compress, rar", ALL, None, None),
        ("*", ALL, None, Some(Gzip)),
        ("*", ALL, Some(Br), Some(Br)),
        ("br;q=0.8, gzip;q=1.0, *;q=0.1", ALL, None, Some(Gzip)),
        ("br;q=0.8, identity;q=1.0", ALL, None, None),
        ("br;q=0.8, identity;q=0.8", ALL, None, Some(Br)),
        ("compress;q=1.0, gzip, identity;q=0", ALL, None, Some(Gzip)),
        ("compress;q=1.0, *;q=0", ALL, None, None),
        ("gzip, *;q=0", ALL, None, Some(Gzip)),
        ("zstd, gzip, br", &[Br, Gzip], None, Some(Br)),
        ("br;q=0.8, gzip;q=1.0, *;q=0.1", &[Zstd, Br], None, Some(Br)),
        ("gzip, br;q=0.9", &[Gzip, Br], None, Some(Gzip)),
        ("br;q=0, gzip;q=0, zstd;q=0", ALL, Some(Br), None),
        (
            "br;q=1.0, zstd;q=1.0, gzip;q=1.0",
            ALL,
            Some(Br),
            Some(Gzip),
        ),
        ("gzip;q=nope, br", ALL, None, Some(Br)),
    ];
    for &(ae, encodings, default, want) in cases {
        let m = compress(encodings, default);
        assert_eq!(
            chosen(&m, "GET", vec![("Accept-Encoding", ae)]),
            want,
            "{ae:?}"
        );
    }
}

#[test]
fn no_header_head_and_excluded_request_types_leave_the_response_alone() {
    let m = compress(&DEFAULT_ENCODINGS, None);
    assert_eq!(chosen(&m, "GET", vec![]), None);
    let with_default = compress(&DEFAULT_ENCODINGS, Some(Encoding::Zstd));
    assert_eq!(chosen(&with_default, "GET", vec![]), Some(Encoding::Zstd));
    assert_eq!(chosen(&m, "HEAD", vec![("Accept-Encoding", "gzip")]), None);
    let grpc = vec![
        ("Content-Type", "application/grpc"),
        ("Accept-Encoding", "gzip"),
    ];
    assert_eq!(chosen(&m, "POST", grpc), None);
}

#[test]
fn responses_compressed_by_status_encoding_range_and_type() {
    let mut m = Compress {
        excludes: vec![
            MediaType::parse("application/grpc").unwrap(),
            MediaType::parse("text/event-stream").unwrap(),
        ],
        includes: vec![],
        min_size: 0,
        encodings: DEFAULT_ENCODINGS.to_vec(),
        default_encoding: None,
    };
    assert!(m.response_allows(200, Some(b"text/html"), false, false));
    assert!(m.response_allows(200, None, false, false));
    for status in [204, 206, 304] {
        assert!(!m.response_allows(status, None, false, false));
    }
    assert!(!m.response_allows(200, None, true, false));
    assert!(!m.response_allows(200, None, false, true));
    assert!(!m.response_allows(200, Some(b"text/event-stream"), false, false));
    assert!(!m.response_allows(200, Some(b"/bad"), false, false));
    m.excludes.truncate(1);
    m.includes = vec![MediaType::parse("application/json").unwrap()];
    assert!(m.response_allows(200, Some(b"application/json; charset=utf-8"), false, false));
    assert!(!m.response_allows(200, Some(b"text/html"), false, false));
}

/// Compresses `text` in pieces with `enc` and decodes the result.
fn round_trip(enc: &mut Encoder, text: &[u8]) -> (Vec<u8>, usize) {
    let mut wire = Vec::new();
    for piece in text.chunks(7000) {
        enc.push(piece).unwrap();
        wire.append(enc.output());
    }
    enc.finish().unwrap();
    wire.append(enc.output());
    (decode(enc.encoding(), &wire), wire.len())
}

fn decode(e: Encoding, wire: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut back = Vec::new();
    match e {
        Encoding::Gzip => flate2::read::GzDecoder::new(wire).read_to_end(&mut back),
        Encoding::Br => brotli::Decompressor::new(wire, 4096).read_to_end(&mut back),
        Encoding::Zstd => zstd::stream::read::Decoder::new(wire)
            .unwrap()
            .read_to_end(&mut back),
    }
    .unwrap();
    back
}

fn lines(n: u32) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect()
}

#[test]
fn each_encoder_round_trips_piece_by_piece() {
    let text = lines(50_000);
    for e in DEFAULT_ENCODINGS {
        let (back, wire) = round_trip(&mut Encoder::new(e).unwrap(), &text);
        assert_eq!(back, text, "{e:?}");
        // zlib-rs level 1 uses static Huffman codes: digits barely shrink.
        assert!(wire < text.len() / 2, "{e:?} {wire}");
    }
}

/// Bytes that barely compress, so one piece makes output past zstd's block
/// size (128 KiB) and its steps' outputs must be appended, not overwritten.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn zstd_output_of_one_large_piece_is_appended_not_overwritten() {
    let text = noise(1 << 20);
    for e in DEFAULT_ENCODINGS {
        let mut enc = Encoder::new(e).unwrap();
        // One piece (as a buffered response's memory part arrives), and the
        // output left in place until the end.
        enc.push(&text).unwrap();
        enc.push(&text[..1000]).unwrap();
        enc.finish().unwrap();
        let wire = std::mem::take(enc.output());
        let mut want = text.clone();
        want.extend_from_slice(&text[..1000]);
        assert_eq!(decode(e, &wire), want, "{e:?}");
    }
}

#[test]
fn pooled_encoders_are_reset_and_reused_within_the_bound() {
    let pool = EncoderPool::default();
    let (a, b) = (lines(3000), lines(20));
    for e in [Encoding::Gzip, Encoding::Zstd] {
        let mut enc = pool.take(e).unwrap();
        assert_eq!(round_trip(&mut enc, &a).0, a, "{e:?}");
        let kept = pool.kept();
        drop(enc);
        assert_eq!(pool.kept(), kept + 1, "{e:?} kept");
        // The kept one starts a new stream: no bytes of the last body, a
        // fresh header and checksum.
        let mut enc = pool.take(e).unwrap();
        assert_eq!(pool.kept(), kept);
        assert_eq!(round_trip(&mut enc, &b).0, b, "{e:?} reused");
        drop(enc);
        // Abandoned mid-body (a client gone): reset all the same.
        let mut enc = pool.take(e).unwrap();
        enc.push(&a[..5000]).unwrap();
        drop(enc);
        let mut enc = pool.take(e).unwrap();
        assert_eq!(round_trip(&mut enc, &b).0, b, "{e:?} after abandon");
        drop(enc);
    }
    assert_eq!(pool.kept(), 2);
    // Brotli cannot be reset: never kept.
    drop(pool.take(Encoding::Br).unwrap());
    assert_eq!(pool.kept(), 2);
    // Bounded per encoding: more at once than the bound, only the bound kept.
    for (e, bound) in [
        (Encoding::Zstd, DEFAULT_POOLED_ZSTD),
        (Encoding::Gzip, DEFAULT_POOLED_GZIP),
    ] {
        let many: Vec<_> = (0..bound + 3).map(|_| pool.take(e).unwrap()).collect();
        drop(many);
    }
    assert_eq!(pool.kept(), DEFAULT_POOLED_ZSTD + DEFAULT_POOLED_GZIP);
}
