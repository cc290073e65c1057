//! Request-host normalization: strips the port (IPv6-literal aware), and for the
//! canonical form also a trailing dot and ASCII case, into a fixed stack buffer so
//! the matching path never allocates.

/// Longest host name we index or compare: DNS names are at most 253 bytes, and
/// rule values longer than that are rejected at parse time, so a longer request
/// host can never equal any `Host` value.
pub(super) const MAX_HOST: usize = 253;

/// Both views of the request host that matchers need, computed once per request.
pub(super) struct HostKey<'a> {
    /// Host without port (and without IPv6 brackets), bytes as received.
    raw: &'a [u8],
    buf: [u8; MAX_HOST],
    /// Length of the canonical host in `buf`; `None` if empty or too long.
    len: Option<usize>,
}

impl<'a> HostKey<'a> {
    pub(super) fn new(host: &'a [u8]) -> HostKey<'a> {
        let raw = strip_port(host);
        let mut key = HostKey {
            raw,
            buf: [0; MAX_HOST],
            len: None,
        };
        let canon = raw.strip_suffix(b".").unwrap_or(raw);
        if !canon.is_empty() && canon.len() <= MAX_HOST {
            for (dst, src) in key.buf.iter_mut().zip(canon) {
                *dst = src.to_ascii_lowercase();
            }
            key.len = Some(canon.len());
        }
        key
    }

    /// Host without port, as received (what `HostRegexp` sees).
    pub(super) fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Lowercase host without port or trailing dot (what `Host` and the index use).
    pub(super) fn canonical(&self) -> Option<&[u8]> {
        self.len.map(|n| &self.buf[..n])
    }
}

/// `a.com:80` → `a.com`, `[::1]:8080` → `::1`, `[::1]` → `::1`. A bare IPv6
/// literal (several colons, no brackets) is not a valid Host header, but we keep it
/// whole rather than cut at a colon, as Go's `SplitHostPort` fallback does.
fn strip_port(host: &[u8]) -> &[u8] {
    if let Some(rest) = host.strip_prefix(b"[") {
        return match memchr::memchr(b']', rest) {
            Some(end) => &rest[..end],
            None => host,
        };
    }
    match memchr::memchr(b':', host) {
        Some(i) if memchr::memrchr(b':', host) == Some(i) => &host[..i],
        _ => host,
    }
}

/// Normalizes a `Host(...)` rule value the same way as request hosts, so the two
/// compare with plain equality. The caller checks ASCII and length.
pub(super) fn canonical_rule_host(value: &str) -> String {
    let v = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    let v = v.strip_suffix('.').unwrap_or(v);
    v.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(h: &str) -> Option<String> {
        HostKey::new(h.as_bytes())
            .canonical()
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
    }

    #[test]
    fn strips_port_dot_and_case() {
        assert_eq!(canon("Example.COM:8080").as_deref(), Some("example.com"));
        assert_eq!(canon("example.com.").as_deref(), Some("example.com"));
        assert_eq!(canon("example.com.:443").as_deref(), Some("example.com"));
        assert_eq!(canon("[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(canon("[::1]").as_deref(), Some("::1"));
        assert_eq!(canon("::1").as_deref(), Some("::1"));
        assert_eq!(canon("").as_deref(), None);
        assert_eq!(canon(":80").as_deref(), None);
        assert_eq!(canon(&"a".repeat(300)), None);
    }

    #[test]
    fn raw_keeps_case_and_dot() {
        assert_eq!(HostKey::new(b"A.com.:1").raw(), b"A.com.");
    }

    #[test]
    fn rule_hosts_normalize_like_requests() {
        assert_eq!(canonical_rule_host("A.Com."), "a.com");
        assert_eq!(canonical_rule_host("[::1]"), "::1");
    }
}
