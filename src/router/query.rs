//! Raw query-string matching with Go `url.ParseQuery` semantics: pairs split on
//! '&', key and value percent-decoded ('+' is a space), pairs with a ';' or a bad
//! escape ignored. Comparison decodes on the fly, so exact matches never allocate;
//! only a regex over a value that actually contains escapes decodes into a `Vec`.

use std::borrow::Cow;

use regex::bytes::Regex;

/// Iterates `(raw_key, raw_value)` pairs; a pair without '=' has an empty value.
fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split(|&b| b == b'&')
        // Go drops empty segments and (since 1.17) any segment containing ';'.
        .filter(|seg| !seg.is_empty() && !seg.contains(&b';'))
        .map(|seg| match memchr::memchr(b'=', seg) {
            Some(i) => (&seg[..i], &seg[i + 1..]),
            None => (seg, &b""[..]),
        })
}

/// Decodes one byte at a time; `Err(())` on a malformed `%` escape.
fn decode(raw: &[u8]) -> impl Iterator<Item = Result<u8, ()>> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *raw.get(i)?;
        i += 1;
        Some(match b {
            b'+' => Ok(b' '),
            b'%' => {
                let hi = raw.get(i).and_then(|&c| hex(c));
                let lo = raw.get(i + 1).and_then(|&c| hex(c));
                i += 2;
                match (hi, lo) {
                    (Some(h), Some(l)) => Ok(h << 4 | l),
                    _ => Err(()),
                }
            }
            _ => Ok(b),
        })
    })
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn is_valid(raw: &[u8]) -> bool {
    decode(raw).all(|r| r.is_ok())
}

/// Whether `raw` decodes (validly) to exactly `want`.
fn decoded_eq(raw: &[u8], want: &[u8]) -> bool {
    let mut it = decode(raw);
    for &w in want {
        match it.next() {
            Some(Ok(b)) if b == w => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

fn decoded(raw: &[u8]) -> Option<Cow<'_, [u8]>> {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(raw));
    }
    decode(raw)
        .collect::<Result<Vec<u8>, ()>>()
        .ok()
        .map(Cow::Owned)
}

/// Values of `key` whose pair decodes cleanly, raw (still encoded).
fn values<'q>(query: &'q [u8], key: &'q [u8]) -> impl Iterator<Item = &'q [u8]> + 'q {
    pairs(query)
        .filter(move |(k, v)| decoded_eq(k, key) && is_valid(v))
        .map(|(_, v)| v)
}

/// `Query(key)` (value `None`: key present) or `Query(key, value)`.
pub(super) fn has(query: &[u8], key: &[u8], value: Option<&[u8]>) -> bool {
    let mut vals = values(query, key);
    match value {
        None => vals.next().is_some(),
        Some(want) => vals.any(|v| decoded_eq(v, want)),
    }
}

/// `QueryRegexp(key, re)`: some decoded value of `key` matches.
pub(super) fn any_matches(query: &[u8], key: &[u8], re: &Regex) -> bool {
    values(query, key).any(|v| decoded(v).is_some_and(|d| re.is_match(&d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_presence() {
        let q = b"a=1&b=two&flag&c=";
        assert!(has(q, b"a", Some(b"1")));
        assert!(!has(q, b"a", Some(b"2")));
        assert!(has(q, b"flag", None));
        assert!(has(q, b"flag", Some(b"")));
        assert!(has(q, b"c", Some(b"")));
        assert!(has(q, b"b", None));
        assert!(!has(q, b"zz", None));
        assert!(!has(b"", b"a", None));
    }

    #[test]
    fn percent_and_plus_decoding() {
        assert!(has(b"na%6De=a+b%20c", b"name", Some(b"a b c")));
        assert!(has(b"k=%2F%2f", b"k", Some(b"//")));
        assert!(!has(b"k=a%2", b"k", Some(b"a%2")));
        // A bad escape drops the whole pair, like Go.
        assert!(!has(b"k=%zz", b"k", None));
        assert!(!has(b"k=1;x=2", b"k", None));
    }

    #[test]
    fn repeated_keys() {
        assert!(has(b"k=1&k=2", b"k", Some(b"2")));
        let re = Regex::new("^2$").unwrap();
        assert!(any_matches(b"k=1&k=2", b"k", &re));
        assert!(!any_matches(b"k=1&j=2", b"k", &re));
        let re = Regex::new("^a b$").unwrap();
        assert!(any_matches(b"k=a+b", b"k", &re));
    }
}
