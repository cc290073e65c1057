//! `forwardAuth` definitions → [`ForwardAuth`]: the address parsed and its
//! host resolved here (on the control thread, never on a worker), the regex
//! compiled, sizes checked. proxyd has no TLS client for upstreams yet, so an
//! https address is refused as not supported yet (and `tls` through the
//! Traefik key table).

use super::Refusal;
use crate::config::raw_middleware::RawForwardAuth;
use crate::config::upstream_url;
use crate::middleware::Middleware;
use crate::middleware::forward_auth::{DEFAULT_MAX_BODY_SIZE, ForwardAuth, canonical_key};

pub(super) fn compile(m: &RawForwardAuth) -> Result<Middleware, Refusal> {
    let address = m.address.as_deref().unwrap_or("");
    let (authority, target) = split_address(address).map_err(|why| ("address".into(), why))?;
    let url = upstream_url::parse(&format!("http://{authority}"))
        .map_err(|why| ("address".to_string(), why))?;
    // Resolved once, when the configuration loads (on the control thread).
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(url.host.as_str(), url.port))
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            (
                "address".to_string(),
                format!("cannot resolve `{}`", url.host),
            )
        })?;
    let regex = match m.auth_response_headers_regex.as_str() {
        "" => None,
        re => Some(regex::Regex::new(re).map_err(|e| {
            (
                "authResponseHeadersRegex".to_string(),
                format!("invalid regular expression: {e}"),
            )
        })?),
    };
    let mut canon = String::new();
    let auth_response_headers = m
        .auth_response_headers
        .iter()
        .map(|h| {
            canonical_key(h.as_bytes(), &mut canon);
            canon.clone()
        })
        .collect();
    Ok(Middleware::ForwardAuth(Box::new(ForwardAuth {
        addr,
        authority: url.authority,
        target,
        trust_forward_header: m.trust_forward_header,
        auth_response_headers,
        auth_response_headers_regex: regex,
        auth_request_headers: m.auth_request_headers.clone(),
        max_response_body_size: limit("maxResponseBodySize", m.max_response_body_size)?,
        add_auth_cookies_to_response: m.add_auth_cookies_to_response.clone(),
        forward_body: m.forward_body,
        max_body_size: limit(
            "maxBodySize",
            Some(m.max_body_size.unwrap_or(DEFAULT_MAX_BODY_SIZE)),
        )?,
        preserve_location_header: m.preserve_location_header,
        preserve_request_method: m.preserve_request_method,
        auth_signin_url: (!m.auth_signin_url.is_empty()).then(|| m.auth_signin_url.clone()),
    })))
}

/// A size limit: negative (Traefik's -1) or unset is none.
fn limit(key: &str, v: Option<i64>) -> Result<Option<u64>, Refusal> {
    match v {
        None => Ok(None),
        Some(n) if n < 0 => Ok(None),
        Some(n) => u64::try_from(n)
            .map(Some)
            .map_err(|_| (key.to_string(), format!("{n} is out of range"))),
    }
}

/// `http://authority[/path][?query]` → (authority, target). The target is
/// what the auth request asks for: `/` when the address has no path.
fn split_address(address: &str) -> Result<(String, String), String> {
    if address.is_empty() {
        return Err("missing: the authentication server's URL is required".into());
    }
    let (scheme, rest) = address
        .split_once("://")
        .ok_or_else(|| format!("{address:?} is not a URL (expected http://host[:port][/path])"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "http" => {}
        "https" => {
            return Err("https authentication servers are not supported yet".into());
        }
        other => return Err(format!("scheme {other:?} is not supported (use http)")),
    }
    let rest = rest.split('#').next().unwrap_or("");
    let at = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(at);
    if target.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(format!(
            "{address:?}: the path may not hold spaces or controls"
        ));
    }
    let target = match target {
        "" => "/".to_string(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_string(),
    };
    Ok((authority.to_string(), target))
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::{errs, ok, setup};

    use crate::middleware::Middleware;

    const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

    #[test]
    fn address_path_and_query_make_the_target() {
        let text = format!(
            "{SVC}[http.middlewares.a.forwardAuth]\naddress = \"http://127.0.0.1:9/auth?x=1\"\n\
             authResponseHeaders = [\"x-auth-user\"]\n"
        );
        let s = setup(&[("m.toml", &text)]);
        let r = ok(&s.st);
        let Middleware::ForwardAuth(f) = &r.middlewares[0].kind else {
            panic!("not forwardAuth");
        };
        assert_eq!(
            (f.authority.as_str(), f.target.as_str()),
            ("127.0.0.1:9", "/auth?x=1")
        );
        assert_eq!(f.auth_response_headers, ["X-Auth-User"]);
        assert_eq!((f.max_body_size, f.trust_forward_header), (None, None));
    }

    #[test]
    fn bad_definitions_name_the_key() {
        for (def, key, why) in [
            ("", "address", "missing"),
            (
                "address = \"https://127.0.0.1:9\"",
                "address",
                "not supported yet",
            ),
            ("address = \"127.0.0.1:9\"", "address", "not a URL"),
            (
                "address = \"http://127.0.0.1:9\"\nauthResponseHeadersRegex = \"(\"",
                "authResponseHeadersRegex",
                "invalid regular expression",
            ),
        ] {
            let text = format!("{SVC}[http.middlewares.a.forwardAuth]\n{def}\n");
            let (_, e) = errs(&[("m.toml", &text)]);
            let key = format!("http.middlewares.a.forwardAuth.{key}");
            assert!(
                e.iter().any(|e| e.key == key && e.reason.contains(why)),
                "{def}: {e:?}"
            );
        }
    }
}
