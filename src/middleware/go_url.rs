//! Whether Go's `url.Parse` accepts a URL. Traefik parses the URL a redirect
//! built and answers 502 when that fails, so a replacement that makes a broken
//! URL (a bad port, a bad percent escape) never reaches a `Location` header.
//! Only the checks that can fail are mirrored; nothing is allocated.

/// Go's `url.Parse(url) == nil` error.
pub fn parses(url: &[u8]) -> bool {
    if url.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let (rest, fragment) = cut(url, b'#');
    if fragment.is_some_and(|f| !escapes_ok(f)) {
        return false;
    }
    let Some((has_scheme, rest)) = scheme(rest) else {
        return false;
    };
    let (rest, _query) = cut(rest, b'?');
    if !rest.starts_with(b"/") {
        // With a scheme this is an opaque URL (`mailto:x`); without one the
        // first segment cannot hold a colon (it would read as a scheme).
        let first = cut(rest, b'/').0;
        return has_scheme || !first.contains(&b':');
    }
    let path = match rest.strip_prefix(b"//") {
        Some(after) if has_scheme || !after.starts_with(b"/") => {
            let end = after.iter().position(|&b| b == b'/').unwrap_or(after.len());
            if !authority_ok(&after[..end]) {
                return false;
            }
            &after[end..]
        }
        _ => rest,
    };
    escapes_ok(path)
}

/// `(has a scheme, the rest)`, or `None` for a leading `:` (Go: "missing
/// protocol scheme").
fn scheme(url: &[u8]) -> Option<(bool, &[u8])> {
    for (i, &c) in url.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return None,
            b':' => return Some((true, &url[i + 1..])),
            _ => break,
        }
    }
    Some((false, url))
}

fn authority_ok(auth: &[u8]) -> bool {
    match auth.iter().rposition(|&b| b == b'@') {
        None => host_ok(auth),
        Some(at) => {
            let user = &auth[..at];
            host_ok(&auth[at + 1..])
                && user
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b))
                && escapes_ok(user)
        }
    }
}

fn host_ok(host: &[u8]) -> bool {
    let port = if host.starts_with(b"[") {
        let Some(close) = host.iter().rposition(|&b| b == b']') else {
            return false;
        };
        &host[close + 1..]
    } else {
        match host.iter().rposition(|&b| b == b':') {
            Some(i) => &host[i..],
            None => b"",
        }
    };
    let port_ok = port.is_empty() || (port[0] == b':' && port[1..].iter().all(u8::is_ascii_digit));
    port_ok && host_chars_ok(host)
}

/// In a host, `%XX` may only encode a non-ASCII byte (or be `%25`, a zone's
/// percent) and only unreserved and sub-delimiter characters appear bare.
fn host_chars_ok(host: &[u8]) -> bool {
    let mut i = 0;
    while i < host.len() {
        let c = host[i];
        if c == b'%' {
            let (Some(h), Some(_)) = (hex_at(host, i + 1), hex_at(host, i + 2)) else {
                return false;
            };
            if h < 8 && &host[i..i + 3] != b"%25" {
                return false;
            }
            i += 3;
            continue;
        }
        let bare = c >= 0x80 || c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&c);
        if !bare {
            return false;
        }
        i += 1;
    }
    true
}

/// Every `%` starts a two-hex-digit escape.
fn escapes_ok(s: &[u8]) -> bool {
    s.iter()
        .enumerate()
        .all(|(i, &b)| b != b'%' || (hex_at(s, i + 1).is_some() && hex_at(s, i + 2).is_some()))
}

fn hex_at(s: &[u8], i: usize) -> Option<u8> {
    s.get(i)
        .and_then(|c| (*c as char).to_digit(16))
        .map(|d| d as u8)
}

fn cut(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == sep) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::parses;

    #[test]
    fn what_go_url_parse_accepts_and_refuses() {
        for ok in [
            "https://foo",
            "https://foo:8443/a%20b?q=%zz#f",
            "http://[::1]:80/x",
            "wss://foo",
            "/relative/path",
            "mailto:someone",
            "http://user:pa%20ss@host/",
            "http://h%C3%A9st/",
            "",
        ] {
            assert!(parses(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "http://192.168.0.%31/",
            "https://foo:abc/",
            "http://foo/%zz",
            "http://foo/#%z",
            ":nope",
            "a:b/c d\n",
            "1x://foo",
            "http://[::1/",
            "http://fo o/",
            "http://us^er@h/",
        ] {
            assert!(!parses(bad.as_bytes()), "{bad}");
        }
    }
}
