//! Media types as Go's `mime.ParseMediaType` reads them (type lowercased,
//! parameter names lowercased, quoted values unquoted), and Traefik's rule for
//! matching a response's Content-Type against a configured one: the same type,
//! and when the configured one has parameters, exactly the same parameters.

/// A configured media type (`excludedContentTypes`, `includedContentTypes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// Lowercase `type/subtype`.
    pub essence: String,
    /// Lowercase names, values as written (unquoted).
    pub params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses a configured type; the error says why, as Go's parser would refuse it.
    pub fn parse(text: &str) -> Result<MediaType, String> {
        let mut parts = Parts::new(text.as_bytes());
        let essence = parts.essence().ok_or("mime: no media type")?;
        let essence = String::from_utf8_lossy(essence).to_ascii_lowercase();
        let mut params = Vec::new();
        for p in parts.by_ref() {
            let (k, v) = p.ok_or("mime: invalid media parameter")?;
            let k = String::from_utf8_lossy(k).to_ascii_lowercase();
            if params.iter().any(|(n, _)| *n == k) {
                return Err("mime: duplicate parameter name".into());
            }
            params.push((k, String::from_utf8_lossy(v).into_owned()));
        }
        Ok(MediaType { essence, params })
    }

    /// Whether a response's Content-Type value is this type. `None` when the
    /// value does not parse (Traefik then does not compress at all).
    pub fn matches(&self, value: &[u8]) -> Option<bool> {
        let mut parts = Parts::new(value);
        let essence = parts.essence()?;
        let mut count = 0;
        let mut all_found = true;
        for p in parts {
            let (k, v) = p?;
            count += 1;
            let want = self
                .params
                .iter()
                .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(k));
            all_found &= want.is_some_and(|(_, w)| w.as_bytes() == v);
        }
        if !essence.eq_ignore_ascii_case(self.essence.as_bytes()) {
            return Some(false);
        }
        Some(self.params.is_empty() || (count == self.params.len() && all_found))
    }
}

/// The essence of a Content-Type value (`text/html` of `text/html; charset=x`),
/// if it parses.
pub fn essence(value: &[u8]) -> Option<&[u8]> {
    Parts::new(value).essence()
}

/// A walk over `type/subtype; k=v; k="v"`.
struct Parts<'a> {
    rest: &'a [u8],
}

fn is_token(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

impl<'a> Parts<'a> {
    fn new(value: &'a [u8]) -> Parts<'a> {
        Parts { rest: value }
    }

    fn essence(&mut self) -> Option<&'a [u8]> {
        let end = self
            .rest
            .iter()
            .position(|&b| b == b';')
            .unwrap_or(self.rest.len());
        let e = trim(&self.rest[..end]);
        self.rest = &self.rest[end..];
        let (ty, sub) = match e.iter().position(|&b| b == b'/') {
            Some(i) => (&e[..i], Some(&e[i + 1..])),
            None => (e, None),
        };
        let ok = !ty.is_empty()
            && ty.iter().all(|&b| is_token(b))
            && sub.is_none_or(|s| !s.is_empty() && s.iter().all(|&b| is_token(b)));
        ok.then_some(e)
    }
}

impl<'a> Iterator for Parts<'a> {
    /// `None` inside: a parameter that does not parse.
    type Item = Option<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = trim(self.rest);
        let rest = rest.strip_prefix(b";")?;
        let rest = trim(rest);
        if rest.is_empty() {
            // A trailing `;` is allowed.
            self.rest = rest;
            return None;
        }
        let eq = rest.iter().position(|&b| b == b'=');
        let Some(eq) = eq else {
            self.rest = &[];
            return Some(None);
        };
        let key = trim(&rest[..eq]);
        let after = trim(&rest[eq + 1..]);
        let (value, left) = if let Some(q) = after.strip_prefix(b"\"") {
            match q.iter().position(|&b| b == b'"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => {
                    self.rest = &[];
                    return Some(None);
                }
            }
        } else {
            let end = after.iter().position(|&b| b == b';').unwrap_or(after.len());
            (trim(&after[..end]), &after[end..])
        };
        self.rest = left;
        let ok = !key.is_empty() && key.iter().all(|&b| is_token(b));
        Some(ok.then_some((key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go_and_matches_like_traefik() {
        let t = MediaType::parse("Text/Event-Stream").unwrap();
        assert_eq!(t.essence, "text/event-stream");
        assert_eq!(t.matches(b"text/event-stream; charset=utf-8"), Some(true));
        assert_eq!(t.matches(b"text/html"), Some(false));
        let p = MediaType::parse("text/plain; charset=\"utf-8\"").unwrap();
        assert_eq!(p.params, [("charset".to_string(), "utf-8".to_string())]);
        assert_eq!(p.matches(b"text/plain; Charset=utf-8"), Some(true));
        assert_eq!(p.matches(b"text/plain"), Some(false));
        assert_eq!(p.matches(b"text/plain; charset=utf-8; x=y"), Some(false));
        assert_eq!(t.matches(b"/nope"), None);
        assert!(MediaType::parse("").is_err());
        assert!(MediaType::parse("text/html; charset").is_err());
    }
}
