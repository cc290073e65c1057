//! `entryPoints.<n>.http.redirections.entryPoint`: the answer of the redirect
//! router compiled onto a plaintext entry point (Traefik's semantics: 301/302 for
//! GET and HEAD, 308/307 for other methods so they keep their body).

use std::io::Write;

use crate::config::Redirect;

/// The redirect's status for a request with `method`, and its `Location`
/// written into `location` (cleared first).
pub fn location(
    r: &Redirect,
    method: &[u8],
    host: &[u8],
    path: &[u8],
    query: &[u8],
    location: &mut Vec<u8>,
) -> u16 {
    let safe = method == b"GET" || method == b"HEAD";
    let status = match (r.permanent, safe) {
        (true, true) => 301,
        (true, false) => 308,
        (false, true) => 302,
        (false, false) => 307,
    };
    location.clear();
    let _ = write!(location, "{}://", r.scheme);
    location.extend_from_slice(strip_port(host));
    if let Some(port) = r.port {
        let _ = write!(location, ":{port}");
    }
    location.extend_from_slice(path);
    if !query.is_empty() {
        location.push(b'?');
        location.extend_from_slice(query);
    }
    status
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
