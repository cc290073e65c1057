//! `loadBalancer.passiveHealthCheck`: its two keys, checked, with Traefik's
//! defaults, and a fresh failure record per server.

use crate::config::raw_dynamic::RawPassiveHealthCheck;
use crate::config::types::{Failures, PassiveCheck, Server};
use crate::config::{DEFAULT_PASSIVE_FAILURE_WINDOW, DEFAULT_PASSIVE_MAX_FAILED_ATTEMPTS};

/// proxyd keeps the time of each of the last `maxFailedAttempts` failures per
/// server; this bounds that memory.
pub const MAX_FAILED_ATTEMPTS_LIMIT: i64 = 10_000;

/// The compiled check, or each bad key (below `passiveHealthCheck`) and why.
pub fn compile(
    raw: &RawPassiveHealthCheck,
    servers: &[Server],
) -> Result<PassiveCheck, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let window = raw
        .failure_window
        .map_or(DEFAULT_PASSIVE_FAILURE_WINDOW, |d| d.0);
    if window.is_zero() {
        errors.push(("failureWindow", "must be above 0".to_string()));
    }
    let attempts = raw
        .max_failed_attempts
        .unwrap_or(DEFAULT_PASSIVE_MAX_FAILED_ATTEMPTS.into());
    if !(1..=MAX_FAILED_ATTEMPTS_LIMIT).contains(&attempts) {
        let why = format!("must be from 1 to {MAX_FAILED_ATTEMPTS_LIMIT}, got {attempts}");
        errors.push(("maxFailedAttempts", why));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let attempts = attempts as u32;
    Ok(PassiveCheck {
        failure_window: window,
        max_failed_attempts: attempts,
        servers: servers.iter().map(|_| Failures::new(attempts)).collect(),
    })
}

/// Gives each server of `next` with a passive check the failure record of the
/// same server (service name and URL) in `prev`, when both count the same
/// number of attempts, so that a reload neither forgets recent failures nor
/// lets a server held down back early. Runs before `next` is published.
pub fn carry(next: &mut crate::config::Snapshot, prev: &crate::config::Snapshot) {
    use crate::config::ServiceKind;
    use std::collections::HashMap;
    let mut old: HashMap<(&str, &str), &Failures> = HashMap::new();
    for s in &prev.services {
        if let ServiceKind::LoadBalancer(lb) = &s.kind
            && let Some(p) = &lb.passive
        {
            for (server, f) in lb.servers.iter().zip(&p.servers) {
                old.insert((s.name.as_str(), server.url.as_str()), f);
            }
        }
    }
    for s in &mut next.services {
        let Some(service) = std::sync::Arc::get_mut(s) else {
            continue;
        };
        let ServiceKind::LoadBalancer(lb) = &mut service.kind else {
            continue;
        };
        let Some(p) = &mut lb.passive else {
            continue;
        };
        for (server, f) in lb.servers.iter().zip(&mut p.servers) {
            match old.get(&(service.name.as_str(), server.url.as_str())) {
                Some(prev) if prev.fits(p.max_failed_attempts) => *f = (*prev).clone(),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Health;
    use crate::config::duration::ConfigDuration;
    use std::time::Duration;

    fn check(window_ms: u64, attempts: i64) -> PassiveCheck {
        let raw = RawPassiveHealthCheck {
            failure_window: Some(ConfigDuration(Duration::from_millis(window_ms))),
            max_failed_attempts: Some(attempts),
        };
        compile(&raw, &[])
            .map(|mut c| {
                c.servers.push(Failures::new(c.max_failed_attempts));
                c
            })
            .unwrap()
    }

    #[test]
    fn defaults_and_bad_values() {
        let c = compile(&RawPassiveHealthCheck::default(), &[]).unwrap();
        assert_eq!(c.failure_window, Duration::from_secs(10));
        assert_eq!(c.max_failed_attempts, 1);
        let raw = RawPassiveHealthCheck {
            failure_window: Some(ConfigDuration(Duration::ZERO)),
            max_failed_attempts: Some(0),
        };
        let keys: Vec<&str> = compile(&raw, &[])
            .unwrap_err()
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(keys, ["failureWindow", "maxFailedAttempts"]);
    }

    #[test]
    fn a_run_of_failures_trips_and_a_success_resets_it() {
        let c = check(60_000, 3);
        let h = Health::new();
        for _ in 0..2 {
            c.note(0, true, &h, false, "u");
        }
        c.note(0, false, &h, false, "u");
        c.note(0, true, &h, false, "u");
        c.note(0, true, &h, false, "u");
        assert!(c.servers[0].is_up(), "two in a row of three");
        c.note(0, true, &h, false, "u");
        assert!(!c.servers[0].is_up());
        assert!(
            h.is_up(),
            "the prober's flag is untouched without an active check"
        );
    }

    #[test]
    fn with_an_active_check_the_probers_flag_goes_down() {
        let c = check(60_000, 1);
        let h = Health::new();
        c.note(0, true, &h, true, "u");
        assert!(!h.is_up());
        assert!(c.servers[0].is_up(), "recovery is the prober's");
    }
}
