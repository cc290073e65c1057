//! The parameters of an `Authorization: Digest ...` value, read as
//! go-http-auth reads them: the scheme is exactly `Digest` followed by a
//! space; the rest is a comma-separated list (commas inside double quotes do
//! not split) of `key=value` items, trimmed, each value losing one pair of
//! surrounding quotes; a later key replaces an earlier one; a missing key reads
//! as empty. Borrowed from the header, no allocation: a value with a
//! backslash escape is refused rather than unescaped into a copy.

/// The keys the check uses; absent ones are empty.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Params<'a> {
    pub username: &'a [u8],
    pub nonce: &'a [u8],
    pub uri: &'a [u8],
    pub response: &'a [u8],
    /// `None` when absent (then taken as `MD5`).
    pub algorithm: Option<&'a [u8]>,
    pub cnonce: &'a [u8],
    pub opaque: &'a [u8],
    pub qop: &'a [u8],
    pub nc: &'a [u8],
}

/// The parameters, or `None` when the value is not a Digest credential.
pub fn parse(value: &[u8]) -> Option<Params<'_>> {
    let rest = value.strip_prefix(b"Digest ")?;
    if rest.contains(&b'\\') {
        return None;
    }
    let mut p = Params::default();
    for item in items(rest.trim_ascii()) {
        let (key, val) = match item.iter().position(|&b| b == b'=') {
            Some(at) => (&item[..at], unquote(&item[at + 1..])),
            None => (item, &b""[..]),
        };
        let slot = match key {
            b"username" => &mut p.username,
            b"nonce" => &mut p.nonce,
            b"uri" => &mut p.uri,
            b"response" => &mut p.response,
            b"algorithm" => {
                p.algorithm = Some(val);
                continue;
            }
            b"cnonce" => &mut p.cnonce,
            b"opaque" => &mut p.opaque,
            b"qop" => &mut p.qop,
            b"nc" => &mut p.nc,
            _ => continue,
        };
        *slot = val;
    }
    Some(p)
}

/// The list's items, trimmed; empty items are skipped.
fn items(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut quoted = false;
    list.split(move |&b| {
        if b == b'"' {
            quoted = !quoted;
        }
        b == b',' && !quoted
    })
    .map(<[u8]>::trim_ascii)
    .filter(|i| !i.is_empty())
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_and_bare_values() {
        let p = parse(
            br#"Digest username="te,st", realm="traefik", nonce="abc", uri="/a?b=1",
 response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz", opaque="op""#,
        )
        .unwrap();
        assert_eq!(p.username, b"te,st");
        assert_eq!(p.uri, b"/a?b=1");
        assert_eq!(p.algorithm, Some(&b"MD5"[..]));
        assert_eq!(
            (p.qop, p.nc, p.cnonce, p.opaque),
            (&b"auth"[..], &b"00000001"[..], &b"xyz"[..], &b"op"[..])
        );
        assert_eq!(p.response, b"0123");
    }

    #[test]
    fn scheme_is_exact_and_escapes_are_refused() {
        assert_eq!(parse(b"digest username=\"a\""), None);
        assert_eq!(parse(b"Basic YTpi"), None);
        assert_eq!(parse(b"Digest username=\"a\\\"b\""), None);
        let p = parse(b"Digest  nc=1, nc=2 ,").unwrap();
        assert_eq!(p.nc, b"2", "a later key wins");
        assert_eq!(p.algorithm, None);
    }
}
