use super::*;

fn list(e: &Edits) -> Vec<(HeaderOp, String, String)> {
    e.request_edits()
        .map(|(op, n, v)| {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (op, s(n), s(v))
        })
        .collect()
}

#[test]
fn set_and_remove_override_earlier_edits_of_the_name() {
    let mut e = Edits::default();
    e.request_header(HeaderOp::Add, b"X-A", b"1");
    e.request_header(HeaderOp::Add, b"X-B", b"1");
    e.request_header(HeaderOp::Set, b"x-a", b"2");
    e.request_header(HeaderOp::Remove, b"X-B", b"");
    assert_eq!(
        list(&e),
        [
            (HeaderOp::Set, "x-a".into(), "2".into()),
            (HeaderOp::Remove, "X-B".into(), "".into())
        ]
    );
    assert!(drops(e.request_edits(), b"X-A"));
    assert!(!drops(e.request_edits(), b"X-C"));
    e.clear();
    assert!(e.is_empty());
}

#[test]
fn local_response_head_gets_the_response_edits() {
    let mut e = Edits::default();
    e.response_header(HeaderOp::Set, b"X-Frame-Options", b"DENY");
    e.response_header(HeaderOp::Remove, b"Server", b"");
    let mut out = b"HTTP/1.1 200 OK\r\nserver: x\r\ncontent-length: 2\r\n\r\nok".to_vec();
    test_head::apply_to_head(&e, &mut out);
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nX-Frame-Options: DENY\r\n\r\nok"
    );
}

#[test]
fn path_rewrites_chain_and_reuse_buffers() {
    let mut e = Edits::default();
    assert_eq!(e.path(b"/a/b"), b"/a/b");
    e.rewrite_path(b"/a/b", |cur, out| out.extend_from_slice(&cur[2..]));
    e.rewrite_path(b"/a/b", |cur, out| {
        out.extend_from_slice(b"/x");
        out.extend_from_slice(cur);
    });
    assert_eq!(e.rewritten_path(), Some(&b"/x/b"[..]));
    e.clear();
    assert_eq!(e.rewritten_path(), None);
}

fn response_list(e: &Edits) -> Vec<(HeaderOp, String, String)> {
    e.response_edits()
        .map(|(op, n, v)| {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (op, s(n), s(v))
        })
        .collect()
}

fn edit(op: HeaderOp, n: &str, v: &str) -> (HeaderOp, String, String) {
    (op, n.into(), v.into())
}

/// Traefik's wrapping: the response passes the last middleware first, so
/// an earlier middleware's Set of a name wins over a later one's.
#[test]
fn response_edits_of_a_chain_apply_innermost_first() {
    let mut e = Edits::default();
    e.begin_middleware();
    e.response_header(HeaderOp::Set, b"X-Who", b"outer");
    e.response_header(HeaderOp::Add, b"X-Trace", b"outer");
    e.begin_middleware();
    e.begin_middleware();
    e.response_header(HeaderOp::Set, b"x-who", b"inner");
    e.response_header(HeaderOp::Set, b"X-Trace", b"inner");
    e.response_header(HeaderOp::Set, b"X-Inner", b"1");
    e.finish_chain();
    assert_eq!(
        response_list(&e),
        [
            edit(HeaderOp::Set, "X-Trace", "inner"),
            edit(HeaderOp::Set, "X-Inner", "1"),
            edit(HeaderOp::Set, "X-Who", "outer"),
            edit(HeaderOp::Add, "X-Trace", "outer"),
        ]
    );
}

#[test]
fn one_middlewares_response_edits_keep_their_order_and_overrides() {
    let mut e = Edits::default();
    e.begin_middleware();
    e.response_header(HeaderOp::Add, b"X-A", b"1");
    e.response_header(HeaderOp::Set, b"X-A", b"2");
    e.begin_middleware();
    e.finish_chain();
    assert_eq!(response_list(&e), [edit(HeaderOp::Set, "X-A", "2")]);
    e.clear();
    assert!(response_list(&e).is_empty());
}
