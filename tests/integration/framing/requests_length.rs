//! Request shapes about message length (RFC 9112 §6): Content-Length syntax
//! and duplicates, Transfer-Encoding lists and their obfuscations
//! (PortSwigger's TE.CL / CL.TE / CL.0 research), and CL + TE together.

use super::Framing::{Chunked, Length};
use super::{Fwd, GET, Req, pass, refuse};

const POST: Fwd = Fwd::new("POST", "/{ID}");
const HELLO_CL: Fwd = POST.body(b"hello", Length("5"));
const HELLO_CHUNKED: Fwd = POST.body(b"hello", Chunked);
const NEXT: Fwd = Fwd::new("GET", "/{ID}/2");

pub const TABLE: &[Req] = &[
    // Content-Length.
    pass("cl_simple", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello", &[HELLO_CL]),
    pass("cl_zero", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n", &[POST.body(b"", Length("0"))]),
    pass("cl_on_get", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello", &[GET.body(b"hello", Length("5"))]),
    pass("cl_duplicate_identical_lines", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", &[HELLO_CL]),
    pass("cl_duplicate_identical_list", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5, 5\r\n\r\nhello", &[HELLO_CL]),
    pass("cl_name_case", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\ncOnTeNt-LeNgTh: 5\r\n\r\nhello", &[HELLO_CL]),
    pass("cl_ows_around_value", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: \t5 \r\n\r\nhello", &[HELLO_CL]),
    pass("no_length_post_has_no_body", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n", &[POST]),
    pass("cl0_then_pipelined_get", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\nGET /{ID}/2 HTTP/1.1\r\nHost: app.test\r\n\r\n", &[POST.body(b"", Length("0")), NEXT]),
    pass("cl_body_then_pipelined_get", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhelloGET /{ID}/2 HTTP/1.1\r\nHost: app.test\r\n\r\n", &[HELLO_CL, NEXT]),
    pass("cl_body_looks_like_a_request", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", &[POST.body(b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", Length("35"))]),
    pass(
        "expect_continue_dropped",
        b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
        &[HELLO_CL.without("expect")],
    ),
    refuse("cl_differing_lines", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    refuse("cl_differing_list", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5, 6\r\n\r\nhello!", 400),
    refuse("cl_empty_list_element", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5,\r\n\r\nhello", 400),
    refuse("cl_leading_empty_element", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: ,5\r\n\r\nhello", 400),
    refuse("cl_empty_value", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: \r\n\r\n", 400),
    refuse("cl_plus_sign", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: +5\r\n\r\nhello", 400),
    refuse("cl_negative", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n", 400),
    refuse("cl_hex", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0x5\r\n\r\nhello", 400),
    refuse("cl_trailing_garbage", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5a\r\n\r\nhello", 400),
    refuse("cl_inner_space", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5 5\r\n\r\nhello", 400),
    refuse("cl_overflow_u64", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 18446744073709551616\r\n\r\n", 400),
    refuse("cl_space_before_colon", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length : 5\r\n\r\nhello", 400),
    // Transfer-Encoding accepted.
    pass("te_chunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &[HELLO_CHUNKED]),
    pass("te_chunked_uppercase", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &[HELLO_CHUNKED]),
    pass("te_name_uppercase", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTRANSFER-ENCODING: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &[HELLO_CHUNKED]),
    pass("te_ows_around_value", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:  chunked \t\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &[HELLO_CHUNKED]),
    pass("te_tab_before_value", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &[HELLO_CHUNKED]),
    pass("te_chunked_on_get", b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &[GET.body(b"hello", Chunked)]),
    // Transfer-Encoding refused.
    refuse("te_space_before_colon", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_vertical_tab", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_trailing_vertical_tab", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n", 400),
    refuse("te_xchunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_quoted_chunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 400),
    refuse("te_chunked_with_parameter", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked;x\r\n\r\n0\r\n\r\n", 400),
    refuse("te_chunked_then_identity", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
    refuse("te_chunked_twice_in_list", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_chunked_twice_in_lines", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_chunked_then_other_line", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n", 400),
    refuse("te_trailing_comma", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", 400),
    refuse("te_leading_comma", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_empty_value", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: \r\n\r\n", 400),
    refuse("te_empty_line_then_chunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_gzip_only", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400),
    refuse("te_gzip_then_chunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    refuse("te_gzip_line_then_chunked_line", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
    refuse("te_on_http10", b"POST /{ID} HTTP/1.0\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
    refuse("te_obs_folded_value", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400),
    refuse("te_nul_after_chunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\0\r\n\r\n0\r\n\r\n", 400),
    // Both.
    refuse("cl_te_cl_first", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 400),
    refuse("cl_te_te_first", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400),
    refuse("cl_te_smuggled_prefix", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n", 400),
    refuse("cl_with_obfuscated_te", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\nhello", 400),
    refuse("cl_te_gzip_chunked", b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\nhello", 400),
];
