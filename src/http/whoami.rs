//! `whoami@internal`: answers with what the proxy received — host name, addresses,
//! the request line and headers — like Traefik's whoami image, so the shipped
//! example works with no other software and routing can be inspected by eye.
//! Like a real upstream, it sees the request as the router's middlewares left it
//! (rewritten path, edited headers).

use std::io::Write;
use std::net::SocketAddr;

use crate::middleware::{Edits, HeaderOp, drops};

pub struct Whoami<'a> {
    pub hostname: &'a str,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub edits: &'a Edits,
}

/// The request as whoami prints it, whatever protocol carried it.
pub struct Seen<'a> {
    pub method: &'a [u8],
    /// The request target as received (origin or absolute form).
    pub target: &'a [u8],
    pub query: &'a [u8],
    /// `HTTP/1.1`, `HTTP/1.0` …
    pub protocol: &'a str,
}

impl Whoami<'_> {
    /// Writes the answer's body (a text page) into `out`, which it clears.
    pub fn body<'h>(
        &self,
        out: &mut Vec<u8>,
        req: &Seen,
        headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
    ) {
        out.clear();
        let _ = write!(
            out,
            "Hostname: {}\nIP: {}\nRemoteAddr: {}\n",
            self.hostname,
            self.local.ip(),
            self.peer
        );
        out.extend_from_slice(req.method);
        out.push(b' ');
        match self.edits.rewritten_path() {
            Some(path) => {
                out.extend_from_slice(if path.is_empty() { b"/" } else { path });
                if !req.query.is_empty() {
                    out.push(b'?');
                    out.extend_from_slice(req.query);
                }
            }
            None => out.extend_from_slice(req.target),
        }
        out.push(b' ');
        out.extend_from_slice(req.protocol.as_bytes());
        out.push(b'\n');
        let edited = !self.edits.is_empty();
        for (name, value) in headers {
            if edited && drops(self.edits.request_edits(), name) {
                continue;
            }
            line(out, name, value);
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
