//! Upstream response shapes: framing (RFC 9112 §6.3: Content-Length,
//! chunked, both, neither), malformed heads and bodies, bytes left after a
//! framed response (after 204/304/HEAD, after the body), interim responses,
//! early answers and origins that close or reset.

use super::responses::Frame::{Any, Chunked, Length, Plain};
use super::responses::Got::{Full, Interim, Truncated};
use super::responses::{Resp, bad_gateway, passes};

const POST_PARTIAL: &[u8] =
    b"POST /{ID} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100000\r\n\r\nfirst bytes";
const HEAD: &[u8] = b"HEAD /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n";
const HTTP10: &[u8] = b"GET /{ID} HTTP/1.0\r\nHost: app.test\r\n\r\n";
const SMUGGLE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";

pub const TABLE: &[Resp] = &[
    // Framing that passes.
    passes("length", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"], Full(200, b"hello"), Length("5")),
    passes("length_zero", &[b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], Full(200, b""), Length("0")),
    passes("length_in_pieces", &[b"HTTP/1.1 200 OK\r\nCont", b"ent-Length: 5\r\n\r\nhe", b"llo"], Full(200, b"hello"), Length("5")),
    passes("length_duplicate_identical", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"], Full(200, b"hello"), Length("5")),
    passes("length_list_identical", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello"], Full(200, b"hello"), Length("5")),
    passes("chunked", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"], Full(200, b"hello"), Chunked),
    passes("chunked_uppercase", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n"], Full(200, b"hello"), Any),
    passes("chunked_extensions_and_trailers", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"], Full(200, b"hello"), Chunked),
    passes("chunked_split_everywhere", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chu", b"nked\r\n\r\n2\r", b"\nhe\r\n3\r\nl", b"lo\r\n0\r\n", b"\r\n"], Full(200, b"hello"), Chunked),
    passes("length_and_chunked", &[b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"], Full(200, b"hello"), Chunked),
    passes("chunked_and_length", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n5\r\nhello\r\n0\r\n\r\n"], Full(200, b"hello"), Chunked),
    passes("no_framing_until_close", &[b"HTTP/1.1 200 OK\r\n\r\nuntil the end"], Full(200, b"until the end"), Any).close_after().closes_client(),
    passes("http10_until_close", &[b"HTTP/1.0 200 OK\r\n\r\nold style"], Full(200, b"old style"), Any).close_after().closes_client(),
    passes("te_gzip_runs_until_close", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot chunked"], Full(200, b"not chunked"), Any).close_after().closes_client(),
    passes("te_chunked_then_gzip_runs_until_close", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\nrest"], Full(200, b"0\r\n\r\nrest"), Any).close_after().closes_client(),
    passes("connection_close_from_origin", &[b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello"], Full(200, b"hello"), Length("5")).close_after(),
    passes("no_content", &[b"HTTP/1.1 204 No Content\r\n\r\n"], Full(204, b""), Any),
    passes("not_modified_with_length", &[b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"], Full(304, b""), Any),
    passes("head_with_length", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"], Full(200, b""), Any).request(HEAD),
    passes("chunked_to_http10_client", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"], Full(200, b"hello"), Plain).request(HTTP10).closes_client(),
    // Interim responses.
    passes("continue_then_ok", &[b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], Interim(&[100], 200, b"ok"), Length("2")),
    passes("early_hints_then_ok", &[b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], Interim(&[103], 200, b"ok"), Length("2")),
    passes("two_interims_then_ok", &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], Interim(&[100, 103], 200, b"ok"), Length("2")),
    // Bytes after a framed response never reach another request.
    passes("bytes_after_no_content", &[b"HTTP/1.1 204 No Content\r\n\r\n", SMUGGLE], Full(204, b""), Any).no_reuse(),
    passes("bytes_after_not_modified", &[b"HTTP/1.1 304 Not Modified\r\n\r\n", SMUGGLE], Full(304, b""), Any).no_reuse(),
    passes("body_after_head_response", &[b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"], Full(200, b""), Any).request(HEAD).no_reuse(),
    passes("bytes_after_length_body", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", SMUGGLE], Full(200, b"hello"), Length("5")).no_reuse(),
    passes("bytes_after_chunked_body", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", SMUGGLE], Full(200, b"hello"), Chunked).no_reuse(),
    passes("bytes_after_length_body_later", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", SMUGGLE], Full(200, b"hello"), Length("5")).late().no_reuse(),
    passes("bytes_after_no_content_later", &[b"HTTP/1.1 204 No Content\r\n\r\n", SMUGGLE], Full(204, b""), Any).late().no_reuse(),
    // Malformed heads: 502.
    bad_gateway("length_differing", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"]),
    bad_gateway("length_list_differing", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!"]),
    bad_gateway("length_negative", &[b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello"]),
    bad_gateway("length_not_digits", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello"]),
    bad_gateway("chunked_twice", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"]),
    bad_gateway("te_on_http10", &[b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"]),
    bad_gateway("obs_fold", &[b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"]),
    bad_gateway("space_before_colon", &[b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello"]),
    bad_gateway("bare_lf_head", &[b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello"]),
    bad_gateway("nul_in_value", &[b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n"]),
    bad_gateway("status_out_of_range", &[b"HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n"]),
    bad_gateway("status_two_digits", &[b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"]),
    bad_gateway("not_http", &[b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]),
    bad_gateway("head_too_large", &HUGE_SENDS),
    bad_gateway("closed_before_answering", &[]).close_after().may_retry(),
    // Broken bodies: the head was already passed on, so the client's
    // response is cut short and its connection closed.
    passes("length_body_cut_short", &[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"], Truncated(200), Any).close_after().closes_client().no_reuse(),
    passes("chunk_size_invalid", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"], Truncated(200), Any).closes_client().no_reuse(),
    passes("chunk_size_bare_lf", &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"], Truncated(200), Any).closes_client().no_reuse(),
    // Early answers: the client gets the answer, then a close (not a 502).
    passes("early_answer_while_body_streams", &[b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!"], Full(413, b"big!"), Length("4")).request(POST_PARTIAL).early().closes_client(),
];

/// A response head over proxyd's limit for upstream heads.
static HUGE_SENDS: [&[u8]; 1] = [&HUGE_HEAD];

static HUGE_HEAD: [u8; 80 * 1024] = {
    let mut b = [b'a'; 80 * 1024];
    let prefix = b"HTTP/1.1 200 OK\r\nX-Big: ";
    let mut i = 0;
    while i < prefix.len() {
        b[i] = prefix[i];
        i += 1;
    }
    b
};
