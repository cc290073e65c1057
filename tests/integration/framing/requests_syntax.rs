//! Request shapes about message syntax (RFC 9112 §2–§5): line endings, the
//! request line and its target forms, field syntax (whitespace, obs-fold,
//! control bytes, HTTP Garden's NUL shapes), Host rules, head size limits and
//! connection persistence.

use super::{Fwd, GET, Req, pass, refuse};

/// A head over the suite's 8 KiB `maxHeaderBytes`: one 9,000-byte field.
const HEAD_TOO_LARGE: &[u8] = {
    const PREFIX: &[u8] = b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-Big: ";
    const LEN: usize = PREFIX.len() + 9000 + 4;
    const BYTES: [u8; LEN] = {
        let mut b = [b'a'; LEN];
        let mut i = 0;
        while i < PREFIX.len() {
            b[i] = PREFIX[i];
            i += 1;
        }
        b[LEN - 4] = b'\r';
        b[LEN - 3] = b'\n';
        b[LEN - 2] = b'\r';
        b[LEN - 1] = b'\n';
        b
    };
    &BYTES
};

pub const TABLE: &[Req] = &[
    // Line endings and leading empty lines (§2.2).
    pass("plain_get", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", &[GET]),
    pass("one_leading_empty_line", b"\r\nGET /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", &[GET]),
    refuse("many_leading_empty_lines", b"\r\n\r\n\r\n\r\n\r\nGET /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("bare_lf_everywhere", b"GET /{ID} HTTP/1.1\nHost: app.test\n\n", 400),
    refuse("bare_lf_after_request_line", b"GET /{ID} HTTP/1.1\nHost: app.test\r\n\r\n", 400),
    refuse("bare_lf_after_field", b"GET /{ID} HTTP/1.1\r\nHost: app.test\nX-A: b\r\n\r\n", 400),
    refuse("bare_lf_final_line", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\n\n", 400),
    refuse("bare_cr_in_value", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: a\rb\r\n\r\n", 400),
    refuse("bare_cr_line_end", b"GET /{ID} HTTP/1.1\r\nHost: app.test\rX-A: b\r\n\r\n", 400),
    refuse("leading_bare_cr", b"\rGET /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    // Request line (§3).
    pass("query_kept", b"GET /{ID}?a=1&b HTTP/1.1\r\nHost: app.test\r\n\r\n", &[Fwd::new("GET", "/{ID}?a=1&b")]),
    pass("lowercase_method_is_a_token", b"get /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", &[Fwd::new("get", "/{ID}")]),
    pass("extension_method", b"PURGE /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", &[Fwd::new("PURGE", "/{ID}")]),
    refuse("double_space_after_method", b"GET  /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("tab_separator", b"GET\t/{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("trailing_space_after_version", b"GET /{ID} HTTP/1.1 \r\nHost: app.test\r\n\r\n", 400),
    refuse("missing_version", b"GET /{ID}\r\nHost: app.test\r\n\r\n", 400),
    refuse("lowercase_version", b"GET /{ID} http/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("version_2_0", b"GET /{ID} HTTP/2.0\r\nHost: app.test\r\n\r\n", 400),
    refuse("nul_in_target", b"GET /{ID}\0x HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("space_in_target", b"GET /{ID} x HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("fragment_in_target", b"GET /{ID}#frag HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    // Target forms (§3.2).
    pass("absolute_form_wins_over_host", b"GET http://app.test/{ID} HTTP/1.1\r\nHost: other.test\r\n\r\n", &[GET]),
    pass("absolute_form_same_host", b"GET http://app.test/{ID}?q HTTP/1.1\r\nHost: app.test\r\n\r\n", &[Fwd::new("GET", "/{ID}?q")]),
    refuse("absolute_form_userinfo", b"GET http://u@app.test/{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("authority_form_on_get", b"GET app.test:80 HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("connect_with_body", b"CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\nContent-Length: 5\r\n\r\nhello", 400),
    // Field syntax (§5).
    refuse("space_before_colon", b"GET /{ID} HTTP/1.1\r\nHost : app.test\r\n\r\n", 400),
    refuse("tab_before_colon", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A\t: b\r\n\r\n", 400),
    refuse("obs_fold_space", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: a\r\n b\r\n\r\n", 400),
    refuse("obs_fold_tab", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: a\r\n\tb\r\n\r\n", 400),
    refuse("fold_first_field", b"GET /{ID} HTTP/1.1\r\n Host: app.test\r\n\r\n", 400),
    refuse("nul_in_name", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX\0A: b\r\n\r\n", 400),
    refuse("nul_in_value", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: a\0b\r\n\r\n", 400),
    refuse("control_in_value", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: a\x01b\r\n\r\n", 400),
    refuse("del_in_value", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: a\x7fb\r\n\r\n", 400),
    refuse("control_in_name", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX\x01A: b\r\n\r\n", 400),
    refuse("empty_field_name", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\n: b\r\n\r\n", 400),
    refuse("field_without_colon", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A\r\n\r\n", 400),
    refuse("slash_in_field_name", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX/A: b\r\n\r\n", 400),
    pass("obs_text_in_value", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX-A: caf\xc3\xa9\r\n\r\n", &[GET]),
    pass("underscore_in_name", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nX_A: b\r\n\r\n", &[GET]),
    pass("connection_named_header_dropped", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nConnection: x-drop\r\nX-Drop: 1\r\n\r\n", &[GET.without("x-drop")]),
    pass("hop_by_hop_te_dropped", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nTE: gzip\r\n\r\n", &[GET.without("te")]),
    // Host (RFC 9112 §3.2, RFC 9110 §7.2).
    refuse("missing_host", b"GET /{ID} HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
    refuse("two_hosts", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n", 400),
    refuse("two_identical_hosts", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nHost: app.test\r\n\r\n", 400),
    refuse("host_list", b"GET /{ID} HTTP/1.1\r\nHost: app.test, other.test\r\n\r\n", 400),
    refuse("host_with_space", b"GET /{ID} HTTP/1.1\r\nHost: app .test\r\n\r\n", 400),
    refuse("host_with_userinfo", b"GET /{ID} HTTP/1.1\r\nHost: u@app.test\r\n\r\n", 400),
    pass("host_with_port", b"GET /{ID} HTTP/1.1\r\nHost: app.test:8080\r\n\r\n", &[GET.host("app.test:8080")]),
    pass("host_trailing_whitespace", b"GET /{ID} HTTP/1.1\r\nHost: app.test \t\r\n\r\n", &[GET]),
    pass("host_uppercase", b"GET /{ID} HTTP/1.1\r\nHost: APP.TEST\r\n\r\n", &[GET.host("APP.TEST")]),
    // Limits.
    refuse("head_too_large", HEAD_TOO_LARGE, 431),
    // Persistence (§9.3).
    Req { name: "connection_close", raw: b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n", answers: &[200], closes: true, fwd: &[GET] },
    Req { name: "http10_closes", raw: b"GET /{ID} HTTP/1.0\r\nHost: app.test\r\n\r\n", answers: &[200], closes: true, fwd: &[GET] },
    pass("http10_keep_alive", b"GET /{ID} HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n", &[GET]),
    Req { name: "http10_without_host_no_route", raw: b"GET /{ID} HTTP/1.0\r\n\r\n", answers: &[404], closes: true, fwd: &[] },
    Req { name: "unknown_host_no_route", raw: b"GET /{ID} HTTP/1.1\r\nHost: other.test\r\n\r\n", answers: &[404], closes: false, fwd: &[] },
    pass("pipelined_three", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\nGET /{ID}/2 HTTP/1.1\r\nHost: app.test\r\n\r\nGET /{ID}/3 HTTP/1.1\r\nHost: app.test\r\n\r\n", &[GET, Fwd::new("GET", "/{ID}/2"), Fwd::new("GET", "/{ID}/3")]),
];
