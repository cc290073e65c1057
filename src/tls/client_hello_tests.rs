//! ClientHello parser tests: real hellos from a rustls client, every split point,
//! hand-made malformed shapes, and random bytes (proptest) that must never panic.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;

/// The first flight of a rustls client for `sni` offering `alpn`.
pub fn real_hello(sni: &str, alpn: &[&[u8]]) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

/// Re-frames a single-record hello into records of at most `size` body bytes.
fn split_records(hello: &[u8], size: usize) -> Vec<u8> {
    let body = &hello[5..];
    let mut out = Vec::new();
    for chunk in body.chunks(size) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

fn hello_of(p: Peek) -> ClientHello {
    match p {
        Peek::Hello(h) => h,
        other => panic!("expected a hello, got {other:?}"),
    }
}

#[test]
fn finds_sni_and_alpn_in_a_real_hello() {
    let bytes = real_hello("API.Example.com", &[b"h2", b"http/1.1"]);
    let h = hello_of(peek(&bytes));
    assert_eq!(h.sni.as_deref(), Some("api.example.com"));
    assert_eq!(h.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
}

#[test]
fn every_prefix_is_incomplete_and_then_complete() {
    let bytes = real_hello("a.test", &[b"http/1.1"]);
    for cut in 1..bytes.len() {
        assert_eq!(peek(&bytes[..cut]), Peek::Incomplete, "cut at {cut}");
    }
    assert!(matches!(peek(&bytes), Peek::Hello(_)));
}

#[test]
fn hellos_split_across_records_are_reassembled() {
    let bytes = real_hello("split.test", &[b"x"]);
    for size in [1usize, 7, 100, 2000] {
        let framed = split_records(&bytes, size);
        if framed.len() - bytes.len() > 5 * 7 {
            assert!(matches!(peek(&framed), Peek::Malformed(_)), "size {size}");
            continue;
        }
        let h = hello_of(peek(&framed));
        assert_eq!(h.sni.as_deref(), Some("split.test"), "size {size}");
        for cut in 1..framed.len() {
            assert_eq!(
                peek(&framed[..cut]),
                Peek::Incomplete,
                "size {size} cut {cut}"
            );
        }
    }
}

#[test]
fn plaintext_is_not_tls() {
    assert_eq!(peek(b"GET / HTTP/1.1\r\n"), Peek::NotTls);
    assert_eq!(peek(b"\x00"), Peek::NotTls);
    assert_eq!(peek(b""), Peek::Incomplete);
}

#[test]
fn malformed_shapes_are_refused() {
    let good = real_hello("m.test", &[]);
    let mut bad_version = good.clone();
    bad_version[1] = 9;
    assert!(matches!(peek(&bad_version), Peek::Malformed(_)));
    assert!(matches!(peek(&[22, 4]), Peek::Malformed(_)));
    let mut zero_len = good.clone();
    zero_len[3] = 0;
    zero_len[4] = 0;
    assert!(matches!(peek(&zero_len), Peek::Malformed(_)));
    let mut not_hello = good.clone();
    not_hello[5] = 2; // ServerHello
    assert!(matches!(peek(&not_hello), Peek::Malformed(_)));
    // Declared hello length larger than the record holds, then an alert record.
    let mut lying = good.clone();
    lying.extend_from_slice(&[21, 3, 3, 0, 2, 2, 40]);
    let body_len = good.len() - 5 - 4 + 1;
    lying[6..9].copy_from_slice(&(body_len as u32).to_be_bytes()[1..]);
    assert!(matches!(peek(&lying), Peek::Malformed(_)));
    // Huge declared hello.
    let huge = [22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff];
    assert!(matches!(peek(&huge), Peek::Malformed(_)));
}

#[test]
fn inner_lengths_are_checked() {
    let good = real_hello("len.test", &[b"h2"]);
    // Corrupt each byte in turn: the parser never panics, and the result is
    // either still a hello or a clean refusal.
    for i in 5..good.len() {
        for v in [0u8, 0xff, good[i].wrapping_add(1)] {
            let mut b = good.clone();
            b[i] = v;
            let _ = peek(&b);
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = peek(&bytes);
        let mut tls = vec![22u8, 3, 1];
        tls.extend_from_slice(&bytes);
        let _ = peek(&tls);
    }

    #[test]
    fn any_split_point_gives_the_same_answer(cut in 1usize..200, size in 1usize..400) {
        let bytes = real_hello("prop.test", &[b"h2", b"http/1.1"]);
        let framed = split_records(&bytes, size.max(bytes.len() / 7 + 1));
        let cut = cut.min(framed.len() - 1);
        prop_assert_eq!(peek(&framed[..cut]), Peek::Incomplete);
        let h = hello_of(peek(&framed));
        prop_assert_eq!(h.sni.as_deref(), Some("prop.test"));
    }
}
