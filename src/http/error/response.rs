//! The prebuilt plain-text error responses (status line, headers and body as
//! one static byte string), so error paths allocate nothing.

/// The body of the error response for `status` (`404 page not found\n` …).
pub fn error_body(status: u16) -> &'static [u8] {
    let whole = error_response(status, false);
    let at = memchr::memmem::find(whole, b"\r\n\r\n").map_or(whole.len(), |i| i + 4);
    &whole[at..]
}

/// A complete plain-text error response, prebuilt so error paths allocate nothing.
/// `close` adds `Connection: close` (the connection ends after it).
pub fn error_response(status: u16, close: bool) -> &'static [u8] {
    macro_rules! resp {
        ($code:literal, $reason:literal, $len:literal, $body:literal) => {
            if close {
                concat!(
                    "HTTP/1.1 ",
                    $code,
                    " ",
                    $reason,
                    "\r\n",
                    "content-type: text/plain; charset=utf-8\r\n",
                    "content-length: ",
                    $len,
                    "\r\nconnection: close\r\n\r\n",
                    $body
                )
                .as_bytes()
            } else {
                concat!(
                    "HTTP/1.1 ",
                    $code,
                    " ",
                    $reason,
                    "\r\n",
                    "content-type: text/plain; charset=utf-8\r\n",
                    "content-length: ",
                    $len,
                    "\r\n\r\n",
                    $body
                )
                .as_bytes()
            }
        };
    }
    match status {
        400 => resp!("400", "Bad Request", "16", "400 Bad Request\n"),
        404 => resp!("404", "Not Found", "19", "404 page not found\n"),
        408 => resp!("408", "Request Timeout", "20", "408 Request Timeout\n"),
        413 => resp!(
            "413",
            "Request Entity Too Large",
            "29",
            "413 Request Entity Too Large\n"
        ),
        431 => resp!(
            "431",
            "Request Header Fields Too Large",
            "36",
            "431 Request Header Fields Too Large\n"
        ),
        501 => resp!("501", "Not Implemented", "20", "501 Not Implemented\n"),
        502 => resp!("502", "Bad Gateway", "16", "502 Bad Gateway\n"),
        503 => resp!(
            "503",
            "Service Unavailable",
            "24",
            "503 Service Unavailable\n"
        ),
        504 => resp!("504", "Gateway Timeout", "20", "504 Gateway Timeout\n"),
        _ => resp!(
            "500",
            "Internal Server Error",
            "26",
            "500 Internal Server Error\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_declare_their_exact_body_length() {
        for status in [400, 404, 408, 413, 431, 500, 501, 502, 503, 504] {
            for close in [false, true] {
                let text = std::str::from_utf8(error_response(status, close)).unwrap();
                let (head, body) = text.split_once("\r\n\r\n").unwrap();
                assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(len, body.len(), "{status}");
                assert_eq!(head.contains("connection: close"), close);
            }
        }
    }
}
