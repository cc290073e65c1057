//! Compiles `buffering` as Traefik hands it to oxy's buffer: negative sizes
//! are refused (oxy's check), a maximum of 0 is no limit, a memory threshold
//! of 0 or none is the documented 1 MiB, and `retryExpression` must parse.

use std::sync::Arc;

use super::Refusal;
use crate::config::raw_middleware::RawBuffering;
use crate::middleware::buffering::{DEFAULT_MEM_BODY_BYTES, expr};
use crate::middleware::{Buffering, Middleware};

pub(super) fn compile(m: &RawBuffering) -> Result<Middleware, Refusal> {
    let retry = match m.retry_expression.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(src) => Some(expr::parse(src).map_err(|e| ("retryExpression".to_string(), e))?),
    };
    Ok(Middleware::Buffering(Arc::new(Buffering {
        max_request_body_bytes: max("maxRequestBodyBytes", m.max_request_body_bytes)?,
        mem_request_body_bytes: mem("memRequestBodyBytes", m.mem_request_body_bytes)?,
        max_response_body_bytes: max("maxResponseBodyBytes", m.max_response_body_bytes)?,
        mem_response_body_bytes: mem("memResponseBodyBytes", m.mem_response_body_bytes)?,
        retry,
    })))
}

fn size(key: &str, n: i64) -> Result<u64, Refusal> {
    u64::try_from(n).map_err(|_| (key.into(), format!("should be >= 0, got {n}")))
}

/// A limit: 0 (or none) is no limit.
fn max(key: &str, n: Option<i64>) -> Result<Option<u64>, Refusal> {
    Ok(Some(size(key, n.unwrap_or(0))?).filter(|&n| n > 0))
}

fn mem(key: &str, n: Option<i64>) -> Result<u64, Refusal> {
    match size(key, n.unwrap_or(0))? {
        0 => Ok(DEFAULT_MEM_BODY_BYTES),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::raw_middleware::RawMiddleware;
    use crate::middleware::Middleware;

    fn compile(src: &str) -> Result<Middleware, super::Refusal> {
        let raw: RawMiddleware = toml::from_str(src).unwrap();
        super::compile(raw.buffering.as_ref().unwrap())
    }

    #[test]
    fn defaults_as_traefik_documents_them() {
        let Middleware::Buffering(b) = compile("[buffering]").unwrap() else {
            panic!("not buffering")
        };
        assert_eq!(b.max_request_body_bytes, None);
        assert_eq!(b.mem_request_body_bytes, 1 << 20);
        assert_eq!(b.max_response_body_bytes, None);
        assert_eq!(b.mem_response_body_bytes, 1 << 20);
        assert!(b.retry.is_none());
    }

    #[test]
    fn sizes_and_expression() {
        let src = "[buffering]\nmaxRequestBodyBytes = 2000000\nmemRequestBodyBytes = 4096\n\
                   maxResponseBodyBytes = 10\nretryExpression = \"IsNetworkError() && Attempts() < 2\"";
        let Middleware::Buffering(b) = compile(src).unwrap() else {
            panic!("not buffering")
        };
        assert_eq!(b.max_request_body_bytes, Some(2_000_000));
        assert_eq!(b.mem_request_body_bytes, 4096);
        assert_eq!(b.max_response_body_bytes, Some(10));
        assert!(b.replay(1, 502) && !b.replay(2, 502));
    }

    #[test]
    fn bad_values_name_their_key() {
        let (k, why) = compile("[buffering]\nmaxRequestBodyBytes = -1").unwrap_err();
        assert_eq!(
            (k.as_str(), why.as_str()),
            ("maxRequestBodyBytes", "should be >= 0, got -1")
        );
        let (k, why) = compile("[buffering]\nretryExpression = \"Nope()\"").unwrap_err();
        assert_eq!(k, "retryExpression");
        assert!(
            why.contains("position 1: unknown function \"Nope\""),
            "{why}"
        );
    }
}
