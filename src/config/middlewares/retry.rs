//! Compiles `retry`: `attempts` (required, at least 1, as Traefik refuses 0 and
//! less), `initialInterval` (the first backoff wait; none retries at once),
//! `timeout` (how long attempts may go on; 0 or none: no limit), `status`
//! (Traefik's code ranges), `maxRequestBodyBytes` (default 2 MiB, -1 no
//! limit), `disableRetryOnNetworkError` (refused without `status`, as Traefik
//! refuses a retry that could never happen) and `retryNonIdempotentMethod`.

use std::time::Duration;

use super::Refusal;
use crate::config::raw_middleware::RawRetry;
use crate::middleware::{DEFAULT_MAX_REQUEST_BODY_BYTES, Middleware, Retry, StatusSet};

pub(super) fn compile(m: &RawRetry) -> Result<Middleware, Refusal> {
    let attempts = match m.attempts {
        Some(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
        n => {
            let why = format!(
                "incorrect (or empty) value for attempt ({}): must be 1 or more",
                n.unwrap_or(0)
            );
            return Err(("attempts".into(), why));
        }
    };
    let initial_interval = m.initial_interval.map_or(Duration::ZERO, |d| d.0);
    let timeout = m.timeout.map(|d| d.0).filter(|d| !d.is_zero());
    let status = StatusSet::parse(&m.status).map_err(|e| ("status".to_string(), e))?;
    if status.is_empty() && m.disable_retry_on_network_error {
        let why = "retry middleware requires at least HTTP status codes or retry on TCP: \
                   set `status` or leave `disableRetryOnNetworkError` false";
        return Err(("disableRetryOnNetworkError".into(), why.into()));
    }
    let max_request_body_bytes = match m.max_request_body_bytes {
        None => Some(DEFAULT_MAX_REQUEST_BODY_BYTES),
        Some(n) if n < 0 => None,
        Some(n) => Some(n as u64),
    };
    Ok(Middleware::Retry(Retry {
        attempts,
        initial_interval,
        timeout,
        status,
        max_request_body_bytes,
        disable_retry_on_network_error: m.disable_retry_on_network_error,
        retry_non_idempotent_method: m.retry_non_idempotent_method,
    }))
}

#[cfg(test)]
mod tests {
    use crate::config::raw_middleware::RawMiddleware;

    fn compile(src: &str) -> Result<crate::middleware::Middleware, super::Refusal> {
        let raw: RawMiddleware = toml::from_str(src).unwrap();
        super::compile(raw.retry.as_ref().unwrap())
    }

    #[test]
    fn attempts_and_interval_as_traefik_writes_them() {
        let m = compile("[retry]\nattempts = 4\ninitialInterval = \"100ms\"\ntimeout = \"2s\"")
            .unwrap();
        let crate::middleware::Middleware::Retry(r) = m else {
            panic!("not a retry")
        };
        assert_eq!(r.attempts, 4);
        assert_eq!(r.initial_interval, std::time::Duration::from_millis(100));
        assert_eq!(r.timeout, Some(std::time::Duration::from_secs(2)));
    }

    #[test]
    fn status_options_as_traefik_defines_them() {
        let src = "[retry]\nattempts = 2\nstatus = [\"500-502\", \"504\"]\n\
                   retryNonIdempotentMethod = true\ndisableRetryOnNetworkError = true";
        let crate::middleware::Middleware::Retry(r) = compile(src).unwrap() else {
            panic!("not a retry")
        };
        assert!(r.status.contains(501) && r.status.contains(504) && !r.status.contains(503));
        assert_eq!(r.max_request_body_bytes, Some(2 * 1024 * 1024));
        assert!(r.retry_non_idempotent_method && r.disable_retry_on_network_error);
        let src = "[retry]\nattempts = 2\nstatus = [\"500\"]\nmaxRequestBodyBytes = -1";
        let crate::middleware::Middleware::Retry(r) = compile(src).unwrap() else {
            panic!("not a retry")
        };
        assert_eq!(r.max_request_body_bytes, None);
        let (key, why) = compile("[retry]\nattempts = 2\nstatus = [\"5xx\"]").unwrap_err();
        assert_eq!(key, "status");
        assert!(why.contains("\"5xx\""), "{why}");
        let src = "[retry]\nattempts = 2\ndisableRetryOnNetworkError = true";
        let (key, why) = compile(src).unwrap_err();
        assert_eq!(key, "disableRetryOnNetworkError");
        assert!(why.contains("requires at least HTTP status codes"), "{why}");
    }

    #[test]
    fn attempts_are_required_and_positive() {
        for src in ["[retry]", "[retry]\nattempts = 0", "[retry]\nattempts = -2"] {
            let (key, why) = compile(src).unwrap_err();
            assert_eq!(key, "attempts");
            assert!(
                why.contains("incorrect (or empty) value for attempt"),
                "{why}"
            );
        }
    }
}
