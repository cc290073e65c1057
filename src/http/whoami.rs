//! `whoami@internal`: answers with what the proxy received — host name, addresses,
//! the request line and headers — like Traefik's whoami image, so the shipped
//! example works with no other software and routing can be inspected by eye.
//! Like a real upstream, it sees the request as the router's middlewares left it
//! (rewritten path, edited headers).

use std::io::Write;
use std::net::SocketAddr;

use crate::http::codec::{HeaderSpan, RequestHead, Version};
use crate::middleware::{Edits, HeaderOp, drops};

pub struct Whoami<'a> {
    pub hostname: &'a str,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub close: bool,
    pub edits: &'a Edits,
}

impl Whoami<'_> {
    /// Appends the complete response for the request whose head is in `buf` to `out`.
    pub fn write(&self, out: &mut Vec<u8>, buf: &[u8], head: &RequestHead, headers: &[HeaderSpan]) {
        let start = out.len();
        self.write_body(out, buf, head, headers);
        let body_len = out.len() - start;
        if head.is_head {
            out.truncate(start);
        }
        let mut meta = [0u8; 160];
        let mut cursor = std::io::Cursor::new(&mut meta[..]);
        let _ = write!(
            cursor,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {body_len}\r\n{}\r\n",
            if self.close {
                "connection: close\r\n"
            } else {
                ""
            }
        );
        let head_len = cursor.position() as usize;
        out.extend_from_slice(&meta[..head_len]);
        // The head was computed after the body (it carries its length): move it in front.
        out[start..].rotate_right(head_len);
    }

    fn write_body(
        &self,
        out: &mut Vec<u8>,
        buf: &[u8],
        head: &RequestHead,
        headers: &[HeaderSpan],
    ) {
        let _ = write!(
            out,
            "Hostname: {}\nIP: {}\nRemoteAddr: {}\n",
            self.hostname,
            self.local.ip(),
            self.peer
        );
        out.extend_from_slice(head.method.get(buf));
        out.push(b' ');
        match self.edits.rewritten_path() {
            Some(path) => {
                out.extend_from_slice(if path.is_empty() { b"/" } else { path });
                if !head.query.is_empty() {
                    out.push(b'?');
                    out.extend_from_slice(head.query.get(buf));
                }
            }
            None => out.extend_from_slice(head.target.get(buf)),
        }
        out.extend_from_slice(match head.version {
            Version::Http10 => b" HTTP/1.0\n",
            Version::Http11 => b" HTTP/1.1\n",
        });
        let edited = !self.edits.is_empty();
        for h in headers {
            if edited && drops(self.edits.request_edits(), h.name.get(buf)) {
                continue;
            }
            line(out, h.name.get(buf), h.value.get(buf));
        }
        for (op, name, value) in self.edits.request_edits() {
            if op != HeaderOp::Remove {
                line(out, name, value);
            }
        }
    }
}

fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.push(b'\n');
}
