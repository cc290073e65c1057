//! Compiles `retry`: `attempts` (required, at least 1, as Traefik refuses 0 and
//! less), `initialInterval` (the first backoff wait; none retries at once) and
//! `timeout` (how long attempts may go on; 0 or none: no limit).

use std::time::Duration;

use super::Refusal;
use crate::config::raw_middleware::RawRetry;
use crate::middleware::{Middleware, Retry};

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
    Ok(Middleware::Retry(Retry {
        attempts,
        initial_interval,
        timeout,
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
