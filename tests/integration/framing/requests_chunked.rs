//! Chunked request bodies (RFC 9112 §7.1): sizes (case, leading zeros, `0x`,
//! signs, overflow), extensions, line endings inside the framing, trailers
//! (HTTP Garden's trailer smuggling), and what follows the last chunk.

use super::Framing::Chunked;
use super::{Fwd, Req, pass, refuse};

const POST: Fwd = Fwd::new("POST", "/{ID}");
const HELLO: Fwd = POST.body(b"hello", Chunked);

macro_rules! chunked {
    ($body:literal) => {
        concat!(
            "POST /{ID} HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n",
            $body
        )
        .as_bytes()
    };
}

pub const TABLE: &[Req] = &[
    pass("one_chunk", chunked!("5\r\nhello\r\n0\r\n\r\n"), &[HELLO]),
    pass(
        "two_chunks",
        chunked!("2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "empty_body",
        chunked!("0\r\n\r\n"),
        &[POST.body(b"", Chunked)],
    ),
    pass(
        "uppercase_hex",
        chunked!("A\r\n0123456789\r\n0\r\n\r\n"),
        &[POST.body(b"0123456789", Chunked)],
    ),
    pass(
        "lowercase_hex",
        chunked!("a\r\n0123456789\r\n0\r\n\r\n"),
        &[POST.body(b"0123456789", Chunked)],
    ),
    pass(
        "leading_zeros",
        chunked!("0005\r\nhello\r\n000\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "extension",
        chunked!("5;name=value\r\nhello\r\n0\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "extension_without_value",
        chunked!("5;name\r\nhello\r\n0\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "extension_quoted",
        chunked!("5;a=\"b;c\"\r\nhello\r\n0\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "extension_after_bws",
        chunked!("5 \t;a=b\r\nhello\r\n0\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "extension_on_last_chunk",
        chunked!("5\r\nhello\r\n0;x=y\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "trailer_field",
        chunked!("5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"),
        &[HELLO],
    ),
    pass(
        "trailer_content_length_is_not_framing",
        chunked!(
            "5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\nGET /{ID}/2 HTTP/1.1\r\nHost: app.test\r\n\r\n"
        ),
        &[HELLO, Fwd::new("GET", "/{ID}/2")],
    ),
    pass(
        "request_after_last_chunk",
        chunked!("5\r\nhello\r\n0\r\n\r\nGET /{ID}/2 HTTP/1.1\r\nHost: app.test\r\n\r\n"),
        &[HELLO, Fwd::new("GET", "/{ID}/2")],
    ),
    pass(
        "body_looks_like_a_request",
        chunked!("23\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n"),
        &[POST.body(b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", Chunked)],
    ),
    refuse("size_0x_prefix", chunked!("0x5\r\nhello\r\n0\r\n\r\n"), 400),
    refuse("size_negative", chunked!("-5\r\nhello\r\n0\r\n\r\n"), 400),
    refuse("size_plus", chunked!("+5\r\nhello\r\n0\r\n\r\n"), 400),
    refuse("size_not_hex", chunked!("zz\r\nhello\r\n0\r\n\r\n"), 400),
    refuse("size_missing", chunked!("\r\nhello\r\n0\r\n\r\n"), 400),
    refuse(
        "size_overflow_17_digits",
        chunked!("10000000000000005\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    refuse(
        "size_leading_space",
        chunked!(" 5\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    refuse(
        "size_trailing_space_without_extension",
        chunked!("5 \r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    refuse("size_bare_lf", chunked!("5\nhello\r\n0\r\n\r\n"), 400),
    refuse("size_bare_cr", chunked!("5\rhello\r\n0\r\n\r\n"), 400),
    refuse("data_bare_lf", chunked!("5\r\nhello\n0\r\n\r\n"), 400),
    refuse(
        "data_longer_than_size",
        chunked!("5\r\nhelloXX\r\n0\r\n\r\n"),
        400,
    ),
    refuse(
        "data_shorter_than_size",
        chunked!("7\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    refuse(
        "extension_control_byte",
        chunked!("5;a\x01b\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    refuse(
        "extension_bare_lf",
        chunked!("5;a\nhello\r\n0\r\n\r\n"),
        400,
    ),
    refuse("last_chunk_bare_lf", chunked!("5\r\nhello\r\n0\n\r\n"), 400),
    refuse(
        "trailer_obs_fold",
        chunked!("5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n"),
        400,
    ),
    refuse(
        "trailer_without_colon",
        chunked!("5\r\nhello\r\n0\r\nX-T\r\n\r\n"),
        400,
    ),
    refuse(
        "trailer_bare_lf",
        chunked!("5\r\nhello\r\n0\r\nX-T: a\n\r\n"),
        400,
    ),
    refuse(
        "trailer_is_a_request_line",
        chunked!("5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
        400,
    ),
    refuse("final_crlf_bare_lf", chunked!("5\r\nhello\r\n0\r\n\n"), 400),
];
