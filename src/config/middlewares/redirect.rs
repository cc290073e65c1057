//! Compiles `redirectScheme` and `redirectRegex` definitions. Values Traefik
//! would take but then answer 502 for on every request (a scheme or port that
//! cannot make a URL) are refused here instead, with the key and the reason.

use regex::bytes::Regex;

use super::Refusal;
use crate::config::raw_middleware::{RawPort, RawRedirectRegex, RawRedirectScheme};
use crate::middleware::{Middleware, RedirectRegex, RedirectScheme};

pub(super) fn redirect_scheme(m: &RawRedirectScheme) -> Result<Middleware, Refusal> {
    let scheme = m.scheme.clone().unwrap_or_default();
    if scheme.is_empty() {
        return Err(refuse(
            "scheme",
            "missing: you must provide a target scheme",
        ));
    }
    if !valid_scheme(&scheme) {
        return Err(refuse(
            "scheme",
            format!(
                "`{scheme}` is not a URL scheme (a letter, then letters, digits, `+`, `-`, `.`)"
            ),
        ));
    }
    let port = match &m.port {
        None => String::new(),
        Some(RawPort::Number(n)) => n.to_string(),
        Some(RawPort::Text(t)) => t.clone(),
    };
    let numeric = port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok();
    if !port.is_empty() && !numeric {
        return Err(refuse(
            "port",
            format!("`{port}` is not a port (a number from 0 to 65535)"),
        ));
    }
    // The target scheme's default port is left out of the URL, as in Traefik.
    let default = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
    let port = if port.is_empty() || default {
        String::new()
    } else {
        format!(":{port}")
    };
    Ok(Middleware::RedirectScheme(RedirectScheme {
        scheme,
        port,
        permanent: m.permanent,
    }))
}

pub(super) fn redirect_regex(m: &RawRedirectRegex) -> Result<Middleware, Refusal> {
    let regex = match m.regex.as_deref() {
        None | Some("") => return Err(refuse("regex", "missing: a regex is required")),
        Some(r) => Regex::new(r)
            .map_err(|e| refuse("regex", format!("invalid regular expression: {e}")))?,
    };
    let replacement = match m.replacement.as_deref() {
        None | Some("") => {
            return Err(refuse(
                "replacement",
                "missing: the URL to redirect to is required",
            ));
        }
        Some(r) => r.to_string(),
    };
    Ok(Middleware::RedirectRegex(RedirectRegex {
        regex,
        replacement,
        permanent: m.permanent,
    }))
}

/// What Go's URL parser reads as a scheme.
fn valid_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn refuse(key: &str, reason: impl Into<String>) -> Refusal {
    (key.to_string(), reason.into())
}
