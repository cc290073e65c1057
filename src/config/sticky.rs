//! `loadBalancer.sticky.cookie` → the compiled sticky cookie: its name (as
//! configured, sanitized like Traefik, or generated from the qualified service
//! name), the attributes of the `Set-Cookie` line, prepared once, and the
//! value that stands for each server: the first 16 hex digits of the SHA-256
//! of its URL, so the cookie does not reveal the server's address. Values
//! older Traefik versions wrote (the URL itself, its FNV-64 hash, and that
//! hash hashed again) are still recognized, and rewritten.

use sha1::{Digest, Sha1};

use super::raw_dynamic::RawCookie;
use super::types::StickyCookie;

/// Compiles the cookie of service `service` (its qualified name) over its
/// targets, each named by `servers` (a server's URL, a weighted child's
/// name); the error names the key below `sticky.cookie`.
pub fn compile(
    raw: &RawCookie,
    service: &str,
    servers: &[&str],
) -> Result<StickyCookie, (String, String)> {
    let name = match raw.name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => sanitize(n),
        None => generated_name(service),
    };
    let mut attributes = String::new();
    let path = raw.path.as_deref().unwrap_or("/");
    if !path.is_empty() {
        attributes.push_str("; Path=");
        attributes.push_str(path);
    }
    if let Some(domain) = raw
        .domain
        .as_deref()
        .map(|d| d.trim_start_matches('.'))
        .filter(|d| !d.is_empty())
    {
        attributes.push_str("; Domain=");
        attributes.push_str(domain);
    }
    match raw.max_age.unwrap_or(0) {
        0 => {}
        n if n < 0 => attributes.push_str("; Max-Age=0"),
        n => attributes.push_str(&format!("; Max-Age={n}")),
    }
    if raw.http_only.unwrap_or(false) {
        attributes.push_str("; HttpOnly");
    }
    if raw.secure.unwrap_or(false) {
        attributes.push_str("; Secure");
    }
    attributes.push_str(same_site(raw.same_site.as_deref().unwrap_or(""))?);
    let values = servers.iter().map(|s| sha256_16(s)).collect();
    let mut legacy = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let once = fnv_hex(s);
        let twice = fnv_hex(&once);
        legacy.extend([(s.to_string(), i), (once, i), (twice, i)]);
    }
    Ok(StickyCookie {
        name,
        attributes,
        values,
        legacy,
    })
}

fn same_site(v: &str) -> Result<&'static str, (String, String)> {
    match v.to_ascii_lowercase().as_str() {
        "" => Ok(""),
        "none" => Ok("; SameSite=None"),
        "lax" => Ok("; SameSite=Lax"),
        "strict" => Ok("; SameSite=Strict"),
        other => Err((
            "sameSite".into(),
            format!("{other:?}: expected none, lax or strict"),
        )),
    }
}

/// Traefik's `cookie.GetName` for an empty name: `_` and the first 5 hex
/// digits of SHA-1("_TRAEFIK_BACKEND_" + service).
fn generated_name(service: &str) -> String {
    let digest = Sha1::digest(format!("_TRAEFIK_BACKEND_{service}").as_bytes());
    let hex = to_hex(&digest);
    format!("_{}", &hex[..5])
}

/// Traefik's sanitizer: a token character stays, anything else becomes `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => c,
            '!' | '#' | '$' | '%' | '&' | '\'' | '*' | '+' | '-' | '.' | '^' | '`' | '|' | '~' => c,
            _ => '_',
        })
        .collect()
}

fn sha256_16(s: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    to_hex(&digest.as_ref()[..8])
}

/// Go's `fnv.New64` (FNV-1, not 1a) as lowercase hex without padding.
fn fnv_hex(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        h = h.wrapping_mul(0x0100_0000_01b3);
        h ^= u64::from(b);
    }
    format!("{h:x}")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_attributes_as_traefik_writes_them() {
        // SHA-1("_TRAEFIK_BACKEND_app@file") starts with these digits.
        let digest = Sha1::digest(b"_TRAEFIK_BACKEND_app@file");
        assert_eq!(
            generated_name("app@file"),
            format!("_{}", &to_hex(&digest)[..5])
        );
        assert_eq!(generated_name("app@file").len(), 6);
        assert_eq!(sanitize("my cookie;x"), "my_cookie_x");
        assert_eq!(sha256_16("abc"), "ba7816bf8f01cfea");
        // Go's FNV-1 64 of "a".
        assert_eq!(fnv_hex("a"), "af63bd4c8601b7be");
        assert_eq!(same_site("Lax").unwrap(), "; SameSite=Lax");
        assert!(same_site("sometimes").is_err());
    }
}
