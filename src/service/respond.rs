//! The `respond` service (proxyd extension): a fixed response, prebuilt once per
//! snapshot so serving it is one copy.

use crate::config::Respond;

/// The complete response bytes, with and without `Connection: close`.
#[derive(Debug)]
pub struct Prebuilt {
    pub keep_alive: Vec<u8>,
    pub close: Vec<u8>,
    /// Without the body, for HEAD requests.
    pub head_only_len_keep_alive: usize,
    pub head_only_len_close: usize,
}

impl Prebuilt {
    pub fn new(r: &Respond) -> Self {
        let build = |close: bool| {
            let mut head = format!(
                "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n",
                r.status,
                reason(r.status),
                r.content_type,
                r.body.len()
            );
            if close {
                head.push_str("connection: close\r\n");
            }
            head.push_str("\r\n");
            let head_len = head.len();
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&r.body);
            (bytes, head_len)
        };
        let (keep_alive, head_only_len_keep_alive) = build(false);
        let (close, head_only_len_close) = build(true);
        Self {
            keep_alive,
            close,
            head_only_len_keep_alive,
            head_only_len_close,
        }
    }

    /// The bytes to send for a request (HEAD gets the head only).
    pub fn bytes(&self, close: bool, head_request: bool) -> &[u8] {
        let (all, head_len) = if close {
            (&self.close, self.head_only_len_close)
        } else {
            (&self.keep_alive, self.head_only_len_keep_alive)
        };
        if head_request { &all[..head_len] } else { all }
    }
}

/// Reason phrase for the statuses a configured response is likely to use.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        // Any other code a middleware may answer with (ipAllowList's rejectStatusCode).
        _ => crate::middleware::status_text(status).unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respond_prebuilt_has_exact_length_and_head_only_variant() {
        let p = Prebuilt::new(&Respond {
            status: 200,
            content_type: "text/plain".into(),
            body: b"hello\n".to_vec(),
        });
        let text = std::str::from_utf8(p.bytes(false, false)).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.ends_with("\r\n\r\nhello\n"));
        assert!(text.contains("content-length: 6\r\n"));
        assert!(!text.contains("connection: close"));
        let head = std::str::from_utf8(p.bytes(true, true)).unwrap();
        assert!(head.ends_with("connection: close\r\n\r\n"));
    }
}
