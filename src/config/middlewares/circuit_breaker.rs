//! `circuitBreaker` definitions → [`CircuitBreaker`]: the expression parsed
//! (an error names its position), durations defaulted as Traefik does (unset
//! or zero: 100 ms, 10 s, 10 s), `responseCode` 503 unless set.

use std::sync::Arc;
use std::time::Duration;

use super::Refusal;
use crate::config::raw_middleware::RawCircuitBreaker;
use crate::middleware::Middleware;
use crate::middleware::circuit_breaker::{
    Breaker, CircuitBreaker, DEFAULT_CHECK_PERIOD, DEFAULT_FALLBACK_DURATION,
    DEFAULT_RECOVERY_DURATION, DEFAULT_RESPONSE_CODE, expr,
};

pub(super) fn compile(m: &RawCircuitBreaker) -> Result<Middleware, Refusal> {
    let src = m.expression.as_deref().unwrap_or("");
    if src.trim().is_empty() {
        return Err((
            "expression".into(),
            "missing: an expression is required".into(),
        ));
    }
    let expression = expr::parse(src).map_err(|why| ("expression".to_string(), why))?;
    let or = |d: Option<crate::config::duration::ConfigDuration>, default: Duration| {
        d.map(|d| d.0).filter(|d| !d.is_zero()).unwrap_or(default)
    };
    let code = m.response_code.unwrap_or(DEFAULT_RESPONSE_CODE as i64);
    let response_code = u16::try_from(code)
        .ok()
        .filter(|c| (100..=999).contains(c))
        .ok_or_else(|| {
            (
                "responseCode".to_string(),
                format!("{code} is not an HTTP status"),
            )
        })?;
    Ok(Middleware::CircuitBreaker(CircuitBreaker(Arc::new(
        Breaker::new(
            expression,
            or(m.check_period, DEFAULT_CHECK_PERIOD),
            or(m.fallback_duration, DEFAULT_FALLBACK_DURATION),
            or(m.recovery_duration, DEFAULT_RECOVERY_DURATION),
            response_code,
        ),
    ))))
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::errs;

    const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

    #[test]
    fn bad_definitions_name_the_key_and_position() {
        for (def, key, why) in [
            ("", "expression", "missing"),
            (
                "expression = \"NetworkErrorRatio() > 1\"",
                "expression",
                "position 23",
            ),
            (
                "expression = \"NetworkErrorRatio() > 0.5\"\nresponseCode = 42",
                "responseCode",
                "not an HTTP status",
            ),
        ] {
            let text = format!("{SVC}[http.middlewares.a.circuitBreaker]\n{def}\n");
            let (_, e) = errs(&[("m.toml", &text)]);
            let key = format!("http.middlewares.a.circuitBreaker.{key}");
            assert!(
                e.iter().any(|e| e.key == key && e.reason.contains(why)),
                "{def}: {e:?}"
            );
        }
    }
}
