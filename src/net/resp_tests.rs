//! RESP2 encoding and reply parsing: known replies, partial input, bounds,
//! and a stable fuzz target (proptest, `crate::fuzz_tests`'s budget): any
//! reply written by [`write`] parses back to itself whole and is "incomplete"
//! at every shorter prefix; mutated and random bytes never panic and never
//! claim more bytes than they were given.

use proptest::prelude::*;

use super::*;
use crate::fuzz_tests::{config, fuzz_input};

/// Writes a reply as a server would (the parser's inverse, for the tests).
fn write(out: &mut Vec<u8>, r: &Reply) {
    match r {
        Reply::Simple(s) => line(out, b'+', s),
        Reply::Error(s) => line(out, b'-', s),
        Reply::Integer(i) => line(out, b':', i.to_string().as_bytes()),
        Reply::Bulk(None) => line(out, b'$', b"-1"),
        Reply::Bulk(Some(b)) => {
            line(out, b'$', b.len().to_string().as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Array(None) => line(out, b'*', b"-1"),
        Reply::Array(Some(items)) => {
            line(out, b'*', items.len().to_string().as_bytes());
            for i in items {
                write(out, i);
            }
        }
    }
}

fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

#[test]
fn encodes_a_command_as_an_array_of_bulk_strings() {
    let mut out = Vec::new();
    encode(&mut out, &[b"EVALSHA", b"ab", b"", b"k:1"]);
    assert_eq!(
        out,
        b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$0\r\n\r\n$3\r\nk:1\r\n"
    );
}

#[test]
fn parses_each_reply_type() {
    let cases: &[(&[u8], Reply)] = &[
        (b"+OK\r\n", Reply::Simple(b"OK".to_vec())),
        (
            b"-NOSCRIPT No matching script\r\n",
            Reply::Error(b"NOSCRIPT No matching script".to_vec()),
        ),
        (b":-42\r\n", Reply::Integer(-42)),
        (b"$-1\r\n", Reply::Bulk(None)),
        (b"$0\r\n\r\n", Reply::Bulk(Some(Vec::new()))),
        (b"$4\r\na\r\nb\r\n", Reply::Bulk(Some(b"a\r\nb".to_vec()))),
        (b"*-1\r\n", Reply::Array(None)),
        (
            b"*2\r\n$4\r\ntrue\r\n*1\r\n:7\r\n",
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"true".to_vec())),
                Reply::Array(Some(vec![Reply::Integer(7)])),
            ])),
        ),
    ];
    for (bytes, want) in cases {
        let mut input = bytes.to_vec();
        input.extend_from_slice(b"+next\r\n");
        assert_eq!(
            parse(&input),
            Ok(Some((want.clone(), bytes.len()))),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn refuses_what_is_not_resp2_or_breaks_a_bound() {
    let cases: &[(&[u8], RespError)] = &[
        (b"\r\n", RespError::Type(b'\r')),
        (b"HTTP/1.1 400\r\n", RespError::Type(b'H')),
        (b":12x\r\n", RespError::Number),
        (b"$\r\n", RespError::Number),
        (b"$3\r\nabcd\r\n", RespError::MissingCrlf),
        (
            b"$999999999999\r\n",
            RespError::BulkTooLong(999_999_999_999),
        ),
        (b"*99999999\r\n", RespError::TooManyElements(99_999_999)),
        (
            b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n",
            RespError::TooDeep,
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            parse(bytes),
            Err(want.clone()),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn a_partial_reply_asks_for_more() {
    let full = b"*2\r\n$4\r\ntrue\r\n$3\r\n0.5\r\n";
    for end in 0..full.len() {
        assert_eq!(parse(&full[..end]), Ok(None), "prefix of {end} bytes");
    }
    assert!(matches!(parse(full), Ok(Some((_, n))) if n == full.len()));
}

fn reply() -> impl Strategy<Value = Reply> {
    let leaf = prop_oneof![
        "[^\r\n]{0,12}".prop_map(|s| Reply::Simple(s.into_bytes())),
        "[^\r\n]{0,12}".prop_map(|s| Reply::Error(s.into_bytes())),
        any::<i64>().prop_map(Reply::Integer),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..20)).prop_map(Reply::Bulk),
        Just(Reply::Array(None)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop::collection::vec(inner, 0..6).prop_map(|v| Reply::Array(Some(v)))
    })
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        b"*3\r\n$4\r\ntrue\r\n$3\r\n0.5\r\n$1\r\n1\r\n".to_vec(),
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n".to_vec(),
        b"+OK\r\n:1\r\n$-1\r\n*-1\r\n".to_vec(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_written_replies_parse_back_and_prefixes_are_incomplete(r in reply()) {
        let mut bytes = Vec::new();
        write(&mut bytes, &r);
        prop_assert_eq!(parse(&bytes), Ok(Some((r, bytes.len()))));
        for end in 0..bytes.len() {
            prop_assert_eq!(parse(&bytes[..end]), Ok(None));
        }
    }

    #[test]
    fn fuzz_any_bytes_never_panic_nor_overrun(input in fuzz_input(seeds(), 64)) {
        if let Ok(Some((_, used))) = parse(&input) {
            prop_assert!(used > 0 && used <= input.len());
        }
        // Same answer twice: the parser keeps no state.
        prop_assert_eq!(parse(&input), parse(&input));
    }
}
