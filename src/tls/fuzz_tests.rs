//! Stable fuzz target for the ClientHello peek (`client_hello::peek`): real
//! first flights from rustls and hand-built hellos with chosen SNI and ALPN,
//! re-framed into several records and mutated. Properties: no panic, the same
//! answer twice, `NotTls` exactly when the first byte is not a handshake
//! record, every prefix of a hello still `Incomplete` (so accept waits instead
//! of deciding early), and a built hello's SNI and ALPN read back as written
//! whatever its record framing and whatever follows it.

use std::sync::Arc;

use proptest::prelude::*;

use super::client_hello::{ClientHello, Peek, peek};
use crate::fuzz_tests::{config, fuzz_input};

/// The first flight of a rustls client for `sni` offering `alpn`.
fn rustls_hello(sni: &str, alpn: &[&[u8]]) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from(sni.to_string()).expect("valid name");
    let mut conn = rustls::ClientConnection::new(Arc::new(cfg), name).expect("client");
    let mut out = Vec::new();
    conn.write_tls(&mut out).expect("write to a Vec");
    out
}

fn push16(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// A ClientHello handshake message (header included) built field by field.
fn build_hello(sni: Option<&str>, alpn: &[Vec<u8>], session_id: usize) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(session_id as u8);
    body.extend(std::iter::repeat_n(9, session_id));
    push16(&mut body, &[0x13, 0x01, 0x13, 0x02]);
    body.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    if let Some(name) = sni {
        let mut entry = vec![0];
        push16(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        push16(&mut list, &entry);
        exts.extend_from_slice(&0u16.to_be_bytes());
        push16(&mut exts, &list);
    }
    if !alpn.is_empty() {
        let mut list = Vec::new();
        for p in alpn {
            list.push(p.len() as u8);
            list.extend_from_slice(p);
        }
        let mut data = Vec::new();
        push16(&mut data, &list);
        exts.extend_from_slice(&16u16.to_be_bytes());
        push16(&mut exts, &data);
    }
    exts.extend_from_slice(&[0xaa, 0xaa, 0, 2, 1, 2]); // an unknown extension
    push16(&mut body, &exts);
    let len = body.len() as u32;
    let mut msg = vec![1, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    msg.extend_from_slice(&body);
    msg
}

/// Frames a handshake message into records of at most `size` bytes.
fn records(msg: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in msg.chunks(size.max(1)) {
        out.extend_from_slice(&[22, 3, 1]);
        push16(&mut out, piece);
    }
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let real = [
        rustls_hello("a.test", &[b"h2", b"http/1.1"]),
        rustls_hello("Mixed.Case.Example.COM", &[]),
        rustls_hello("xn--bcher-kva.test", &[b"acme-tls/1"]),
    ];
    let built = build_hello(Some("b.test."), &[b"h2".to_vec()], 32);
    let mut out = real.to_vec();
    out.push(records(&real[0][5..], 100));
    out.push(records(&built, 1000));
    out.push(records(&build_hello(None, &[], 0), 7));
    out.push(b"GET / HTTP/1.1\r\n\r\n".to_vec());
    out
}

/// A hand-built hello: a valid SNI, ALPN names, framing and trailing bytes.
fn built() -> impl Strategy<Value = (Vec<u8>, Option<String>, Vec<Vec<u8>>)> {
    (
        prop::option::of("[a-zA-Z0-9_*-]{1,20}(\\.[a-zA-Z0-9-]{1,20}){0,3}\\.?"),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..12), 0..4),
        0usize..=32,
        1usize..8,
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(sni, alpn, sid, parts, tail)| {
            let msg = build_hello(sni.as_deref(), &alpn, sid);
            let mut bytes = records(&msg, msg.len().div_ceil(parts));
            bytes.extend_from_slice(&tail);
            let want = sni.map(|s| s.trim_end_matches('.').to_ascii_lowercase());
            (bytes, want, alpn)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_client_hello_peek(input in fuzz_input(corpus(), 600)) {
        let whole = peek(&input);
        prop_assert_eq!(&whole, &peek(&input));
        if let Some(&first) = input.first() {
            prop_assert_eq!(first != 22, whole == Peek::NotTls);
        }
        if let Peek::Hello(_) = whole {
            for cut in 1..input.len() {
                let p = peek(&input[..cut]);
                prop_assert!(
                    matches!(p, Peek::Incomplete | Peek::Hello(_)),
                    "prefix {} of a hello gave {:?}", cut, p
                );
            }
        }
    }

    #[test]
    fn fuzz_client_hello_built_reads_back((bytes, sni, alpn) in built()) {
        let want = Peek::Hello(ClientHello { sni, alpn });
        prop_assert_eq!(peek(&bytes), want);
    }
}
