//! Finding one cookie in a `Cookie` field (`a=1; b="2"`), as Go's
//! `Request.Cookie` does for the first field that has it: names compare
//! exactly, values lose their surrounding quotes.

/// The value of the first cookie `name` among the `Cookie` fields of a field
/// block (`buf` and its fields' spans).
pub fn in_fields<'a>(
    buf: &'a [u8],
    headers: &[crate::http::codec::HeaderSpan],
    name: &[u8],
) -> Option<&'a [u8]> {
    headers
        .iter()
        .filter(|h| h.name.get(buf).eq_ignore_ascii_case(b"cookie"))
        .find_map(|h| find(h.value.get(buf), name))
}

/// The value of cookie `name` in one `Cookie` field value, if it is there.
pub fn find<'a>(field: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    field.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (n, v) = (&pair[..eq], &pair[eq + 1..]);
        (n.trim_ascii() == name).then(|| unquote(v.trim_ascii()))
    })
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_a_cookie_among_others_and_unquotes_it() {
        assert_eq!(find(b"a=1; _x1=abc; b=2", b"_x1"), Some(&b"abc"[..]));
        assert_eq!(find(b"a=1;b=\"q\"", b"b"), Some(&b"q"[..]));
        assert_eq!(find(b"A=1", b"a"), None, "names are case-sensitive");
        assert_eq!(find(b"ab=1; a", b"a"), None);
        assert_eq!(find(b"", b"a"), None);
    }
}
