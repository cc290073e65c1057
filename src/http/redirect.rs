//! `entryPoints.<n>.http.redirections.entryPoint`: the answer of the redirect
//! router compiled onto a plaintext entry point (Traefik's semantics: 301/302 for
//! GET and HEAD, 308/307 for other methods so they keep their body).

use std::io::Write;

use crate::config::Redirect;
use crate::http::codec::RequestHead;

/// Writes the redirect response for `head` into `out`.
pub fn write(out: &mut Vec<u8>, r: &Redirect, head: &RequestHead, buf: &[u8]) {
    let method = head.method.get(buf);
    let safe = method == b"GET" || method == b"HEAD";
    let status = match (r.permanent, safe) {
        (true, true) => "301 Moved Permanently",
        (true, false) => "308 Permanent Redirect",
        (false, true) => "302 Found",
        (false, false) => "307 Temporary Redirect",
    };
    let host = strip_port(head.host.get(buf));
    let _ = write!(out, "HTTP/1.1 {status}\r\nLocation: {}://", r.scheme);
    out.extend_from_slice(host);
    if let Some(port) = r.port {
        let _ = write!(out, ":{port}");
    }
    out.extend_from_slice(head.path.get(buf));
    let query = head.query.get(buf);
    if !query.is_empty() {
        out.push(b'?');
        out.extend_from_slice(query);
    }
    out.extend_from_slice(b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

/// `example.com:80` → `example.com`; `[::1]:80` → `[::1]`.
fn strip_port(host: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', host) {
        Some(i) if !host[i..].contains(&b']') => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::strip_port;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port(b"a.com:80"), b"a.com");
        assert_eq!(strip_port(b"a.com"), b"a.com");
        assert_eq!(strip_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(strip_port(b"[::1]"), b"[::1]");
    }
}
