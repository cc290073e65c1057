use super::*;

#[test]
fn classifies_case_insensitively() {
    assert_eq!(classify(b"HoSt"), HeaderKind::Host);
    assert_eq!(classify(b"content-LENGTH"), HeaderKind::ContentLength);
    assert_eq!(classify(b"Transfer-Encoding"), HeaderKind::TransferEncoding);
    assert_eq!(classify(b"TE"), HeaderKind::Te);
    assert_eq!(classify(b"Trailer"), HeaderKind::Trailer);
    assert_eq!(classify(b"Upgrade"), HeaderKind::Upgrade);
    assert_eq!(classify(b"Connection"), HeaderKind::Connection);
    assert_eq!(classify(b"Keep-Alive"), HeaderKind::KeepAlive);
    assert_eq!(classify(b"Proxy-Connection"), HeaderKind::ProxyConnection);
    assert_eq!(
        classify(b"Proxy-Authorization"),
        HeaderKind::ProxyAuthorization
    );
    assert_eq!(
        classify(b"Proxy-Authenticate"),
        HeaderKind::ProxyAuthenticate
    );
    assert_eq!(classify(b"Expect"), HeaderKind::Expect);
    assert_eq!(classify(b"X-Forwarded-For"), HeaderKind::XForwardedFor);
    assert_eq!(classify(b"x-forwarded-proto"), HeaderKind::XForwardedProto);
    assert_eq!(classify(b"X-Forwarded-Host"), HeaderKind::XForwardedHost);
    assert_eq!(classify(b"X-Forwarded-Port"), HeaderKind::XForwardedPort);
    assert_eq!(
        classify(b"X-Forwarded-Server"),
        HeaderKind::XForwardedServer
    );
    assert_eq!(classify(b"X-Forwarded-Prefix"), HeaderKind::XForwardedOther);
    assert_eq!(
        classify(b"X-Forwarded-Tls-Client-Cert"),
        HeaderKind::XForwardedOther
    );
    assert_eq!(classify(b"X-Forwarded-"), HeaderKind::Other);
    assert_eq!(classify(b"X-Real-Ip"), HeaderKind::XRealIp);
    assert_eq!(classify(b"Hosts"), HeaderKind::Other);
    assert_eq!(classify(b""), HeaderKind::Other);
}

#[test]
fn hop_by_hop_set() {
    assert!(HeaderKind::Connection.is_hop_by_hop());
    assert!(HeaderKind::TransferEncoding.is_hop_by_hop());
    assert!(HeaderKind::Upgrade.is_hop_by_hop());
    assert!(!HeaderKind::Host.is_hop_by_hop());
    assert!(!HeaderKind::ContentLength.is_hop_by_hop());
    assert!(!HeaderKind::XForwardedFor.is_hop_by_hop());
}

#[test]
fn tokens_split_and_trim() {
    let toks: Vec<&[u8]> = list_tokens(b" keep-alive ,, Upgrade\t,").collect();
    assert_eq!(toks, [&b"keep-alive"[..], b"Upgrade"]);
    assert!(header_value_has_token(b"foo, CLOSE", b"close"));
    assert!(!header_value_has_token(b"closed", b"close"));
    assert_eq!(list_tokens(b"").count(), 0);
}

#[test]
fn content_length_values() {
    assert_eq!(parse_content_length(b"0"), Ok(0));
    assert_eq!(parse_content_length(b"42"), Ok(42));
    assert_eq!(parse_content_length(b"5, 5"), Ok(5));
    assert_eq!(parse_content_length(b"5,5 ,5"), Ok(5));
    assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
    let bad = |v: &[u8], why: &'static str| {
        assert_eq!(parse_content_length(v), Err(ParseError::Invalid(why)))
    };
    bad(b"", "empty Content-Length");
    bad(b"5,", "empty Content-Length");
    bad(b"5, 6", "conflicting Content-Length values");
    bad(b"+5", "non-numeric Content-Length");
    bad(b"-5", "non-numeric Content-Length");
    bad(b"5 5", "non-numeric Content-Length");
    bad(b"0x10", "non-numeric Content-Length");
    bad(b"18446744073709551616", "Content-Length overflows");
}

#[test]
fn transfer_codings_read_every_line_as_one_list() {
    let mut te = TransferCodings::default();
    te.add_line(b"gzip");
    te.add_line(b" Chunked\t");
    assert!(te.present && te.last_is_chunked && te.malformed.is_none());
    assert_eq!((te.chunked_count, te.other_count), (1, 1));
    let faults = |lines: &[&[u8]]| {
        let mut te = TransferCodings::default();
        lines.iter().for_each(|l| te.add_line(l));
        te.malformed
    };
    assert_eq!(
        faults(&[b",chunked"]),
        Some("empty element in Transfer-Encoding")
    );
    assert_eq!(faults(&[b"chunked", b""]), Some("empty Transfer-Encoding"));
    assert_eq!(faults(&[b"chunked;q=1"]), Some("invalid transfer-coding"));
    assert_eq!(faults(&[b"chunked ,gzip"]), None);
}

#[test]
fn span_of_subslice() {
    let buf = b"hello world";
    assert_eq!(span_in(buf, &buf[6..]), Span { start: 6, end: 11 });
    assert_eq!(span_in(buf, &buf[6..]).get(buf), b"world");
}
