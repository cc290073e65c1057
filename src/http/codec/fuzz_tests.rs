//! Stable fuzz targets for the head parsers (`HeadParser::parse_request` and
//! `parse_response`): structure-aware heads plus a seed corpus of real-looking
//! and smuggling-shaped heads, mutated (see `crate::fuzz_tests`). Properties:
//! no panic, the same verdict twice, the same verdict when the bytes arrive in
//! any number of reads (the end-of-head scan is incremental), every span inside
//! the head, and an accepted request keeps its method and target.

use proptest::prelude::*;

use super::{BodyKind, HeadParser, HeaderSpan, ParseError, RequestHead, ResponseHead, Span};
use crate::fuzz_tests::{config, cuts, fuzz_input, pieces};

type Verdict<T> = Result<Option<T>, ParseError>;

const REQUEST_SEEDS: &[&str] = &[
    "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
    "GET /p?q=1&r HTTP/1.1\r\nHost: a.test:8080\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
    "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET http://a.test/x?y HTTP/1.1\r\nHost: b.test\r\n\r\n",
    "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n",
    "GET /old HTTP/1.0\r\n\r\n",
    "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "PUT /e HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "\r\n\r\nGET /lead HTTP/1.1\r\nHost: a.test\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "GET / HTTP/1.1\nHost: a\n\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET http://u@a.test/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "X-FORWARDED / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Real-Ip: 5.6.7.8\r\n\r\n",
];

const RESPONSE_SEEDS: &[&str] = &[
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.0 200 OK\r\n\r\nuntil close",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nServer: up\r\nSet-Cookie: a=b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n",
    "HTTP/1.1 999 Nope\r\n\r\n",
];

fn seeds(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// A request head built from parts, most of them valid, some not.
fn structured_request() -> impl Strategy<Value = Vec<u8>> {
    let method = "GET|POST|HEAD|PUT|OPTIONS|CONNECT|[A-Z]{1,8}";
    let target = prop_oneof![
        "/[a-z0-9/._~%-]{0,20}(\\?[a-z0-9=&%]{0,12})?",
        "http://[a-z]{1,8}\\.test(:[0-9]{1,5})?/[a-z]{0,6}",
        "\\*",
        "[a-z]{1,8}\\.test:[0-9]{1,5}",
    ];
    let version = prop_oneof![4 => Just("HTTP/1.1"), 1 => Just("HTTP/1.0"), 1 => Just("HTTP/2.0")];
    let header = prop_oneof![
        "Host: [a-z]{1,8}\\.test(:[0-9]{1,4})?",
        "Content-Length: ?[0-9]{1,3}( ?, ?[0-9]{1,3})?",
        "Transfer-Encoding: ?(chunked|gzip|identity|x)( ?, ?(chunked|gzip))?",
        "Connection: (close|keep-alive|upgrade|te, close)",
        "Upgrade: websocket",
        "Expect: 100-continue",
        "[A-Za-z-]{1,12}: ?[ -~]{0,20}",
    ];
    let eol = prop_oneof![20 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r")];
    (
        method,
        target,
        version,
        prop::collection::vec((header, eol.clone()), 0..8),
        eol,
    )
        .prop_map(|(m, t, v, hs, end)| {
            let mut s = format!("{m} {t} {v}\r\n");
            for (h, e) in hs {
                s.push_str(&h);
                s.push_str(e);
            }
            s.push_str(end);
            s.into_bytes()
        })
}

fn request_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => fuzz_input(seeds(REQUEST_SEEDS), 512),
        1 => structured_request(),
    ]
}

fn parse_req(buf: &[u8], max: usize) -> (Verdict<RequestHead>, Vec<HeaderSpan>) {
    let mut headers = Vec::new();
    let v = HeadParser::new().parse_request(buf, max, &mut headers);
    (v, headers)
}

/// Feeds `buf` as a growing buffer, one piece more per call, as the server's
/// read loop does; stops at the first verdict that is not "incomplete".
fn parse_req_in_reads(buf: &[u8], max: usize, cuts: &[usize]) -> String {
    let mut parser = HeadParser::new();
    let mut headers = Vec::new();
    let mut len = 0;
    for piece in pieces(buf, cuts) {
        len += piece.len();
        let v = parser.parse_request(&buf[..len], max, &mut headers);
        if !matches!(v, Ok(None)) {
            return describe(&v, &headers);
        }
    }
    describe(&parser.parse_request(buf, max, &mut headers), &headers)
}

fn describe<T: std::fmt::Debug>(v: &Verdict<T>, headers: &[HeaderSpan]) -> String {
    match v {
        Ok(Some(_)) => format!("{v:?} {headers:?}"),
        _ => format!("{v:?}"),
    }
}

fn span_ok(span: Span, head_len: usize) -> bool {
    span.start <= span.end && span.end as usize <= head_len
}

fn check_spans(head_len: usize, spans: &[Span], headers: &[HeaderSpan]) -> Result<(), String> {
    let all = spans
        .iter()
        .copied()
        .chain(headers.iter().flat_map(|h| [h.name, h.value]));
    for s in all {
        if !span_ok(s, head_len) {
            return Err(format!("span {s:?} outside head of {head_len} bytes"));
        }
    }
    Ok(())
}

/// The start line's method and target as sent, after any leading empty lines.
fn start_line_parts(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let line_start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let line = &buf[line_start..];
    let mut parts = line.splitn(3, |&b| b == b' ');
    Some((parts.next()?, parts.next()?))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_request_head(buf in request_input(), max in 16usize..1024, cuts in cuts()) {
        let (whole, headers) = parse_req(&buf, max);
        let (again, again_headers) = parse_req(&buf, max);
        prop_assert_eq!(describe(&whole, &headers), describe(&again, &again_headers));
        prop_assert_eq!(describe(&whole, &headers), parse_req_in_reads(&buf, max, &cuts));
        if let Ok(Some(h)) = &whole {
            prop_assert!(h.head_len <= buf.len() && h.head_len <= max);
            let spans = [h.method, h.target, h.path, h.query, h.host];
            check_spans(h.head_len, &spans, &headers).map_err(TestCaseError::fail)?;
            let (method, target) = start_line_parts(&buf).expect("accepted head has a start line");
            prop_assert_eq!(h.method.get(&buf), method);
            prop_assert_eq!(h.target.get(&buf), target);
            prop_assert_eq!(h.is_head, method == b"HEAD");
            prop_assert_eq!(h.is_connect, method == b"CONNECT");
        }
    }

    #[test]
    fn fuzz_response_head(
        buf in fuzz_input(seeds(RESPONSE_SEEDS), 512),
        max in 16usize..1024,
        head_request: bool,
        cuts in cuts(),
    ) {
        let parse = |b: &[u8], p: &mut HeadParser, hs: &mut Vec<HeaderSpan>| {
            p.parse_response(b, max, head_request, hs)
        };
        let mut headers = Vec::new();
        let whole = parse(&buf, &mut HeadParser::new(), &mut headers);
        let again = parse(&buf, &mut HeadParser::new(), &mut Vec::new());
        prop_assert_eq!(format!("{whole:?}"), format!("{again:?}"));
        let mut parser = HeadParser::new();
        let mut split_headers = Vec::new();
        let mut split = Ok(None);
        let mut len = 0;
        for piece in pieces(&buf, &cuts) {
            len += piece.len();
            split = parse(&buf[..len], &mut parser, &mut split_headers);
            if !matches!(split, Ok(None)) {
                break;
            }
        }
        prop_assert_eq!(describe(&whole, &headers), describe(&split, &split_headers));
        if let Ok(Some(h)) = &whole {
            check_response(&buf, h, head_request, &headers)?;
        }
    }
}

fn check_response(
    buf: &[u8],
    h: &ResponseHead,
    head_request: bool,
    headers: &[HeaderSpan],
) -> Result<(), TestCaseError> {
    prop_assert!(h.head_len <= buf.len());
    check_spans(h.head_len, &[h.reason], headers).map_err(TestCaseError::fail)?;
    prop_assert!((100..=599).contains(&h.status));
    let line_start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let code = &buf[line_start + 9..line_start + 12];
    let status = h.status.to_string();
    prop_assert_eq!(code, status.as_bytes());
    if head_request || h.status < 200 || h.status == 204 || h.status == 304 {
        prop_assert_eq!(h.body, BodyKind::None);
    }
    Ok(())
}
