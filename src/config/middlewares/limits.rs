//! Compiles `rateLimit` and `inFlightReq` (Traefik's defaults: period 1s,
//! burst 1, average 0 = no limit; rateLimit's source is the client address and
//! inFlightReq's the request host unless `sourceCriterion` names one), and
//! carries their shared tables over a reload that keeps the definition.
//! `rateLimit.redis` is compiled in `rate_limit_redis.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Refusal;

#[path = "rate_limit_redis.rs"]
mod redis;
use crate::config::Snapshot;
use crate::config::raw_middleware::{RawInFlightReq, RawRateLimit, RawSourceCriterion};
use crate::middleware::ip_strategy::IpStrategy;
use crate::middleware::limits::{Bucket, Source};
use crate::middleware::{InFlightReq, Middleware, RateLimit};

pub(super) fn rate_limit(m: &RawRateLimit) -> Result<Middleware, Refusal> {
    let average = non_negative("average", m.average.unwrap_or(0))?;
    let burst = non_negative("burst", m.burst.unwrap_or(1))?;
    let period = match m.period.map(|p| p.0) {
        None | Some(Duration::ZERO) => Duration::from_secs(1),
        Some(p) => p,
    };
    let source = source(m.source_criterion.as_ref(), false)?;
    let redis = match &m.redis {
        Some(r) => redis::compile(r, average, period, burst)?,
        None => None,
    };
    Ok(Middleware::RateLimit(RateLimit {
        bucket: Bucket::new(average, period, burst),
        source,
        table: Default::default(),
        redis,
        uses_redis: m.redis.is_some(),
    }))
}

pub(super) fn in_flight_req(m: &RawInFlightReq) -> Result<Middleware, Refusal> {
    let amount = non_negative("amount", m.amount.unwrap_or(0))?;
    // Counts are 32-bit; more in flight at once than that is no limit anyway.
    let amount = u32::try_from(amount).unwrap_or(u32::MAX - 1);
    Ok(Middleware::InFlightReq(InFlightReq {
        amount,
        source: source(m.source_criterion.as_ref(), true)?,
        table: Default::default(),
        body: format!("max connections reached: {amount}"),
    }))
}

fn non_negative(key: &str, v: i64) -> Result<u64, Refusal> {
    u64::try_from(v).map_err(|_| (key.to_string(), format!("{v} is negative")))
}

/// Traefik's `GetSourceExtractor`: one criterion at most; none means the
/// client address (rateLimit) or the request host (inFlightReq).
fn source(raw: Option<&RawSourceCriterion>, host_default: bool) -> Result<Source, Refusal> {
    let key = "sourceCriterion";
    let Some(c) = raw else {
        return Ok(default_source(host_default));
    };
    let header = !c.request_header_name.is_empty();
    let exclusive = match (c.ip_strategy.is_some(), header, c.request_host) {
        (true, true, _) => Some("ipStrategy and requestHeaderName"),
        (true, _, true) => Some("ipStrategy and requestHost"),
        (_, true, true) => Some("requestHost and requestHeaderName"),
        _ => None,
    };
    if let Some(both) = exclusive {
        return Err((
            key.into(),
            format!("{both} are mutually exclusive: set one"),
        ));
    }
    if let Some(s) = &c.ip_strategy {
        let strategy =
            super::ip_allow::strategy(Some(s)).map_err(|(k, why)| (format!("{key}.{k}"), why))?;
        return Ok(Source::Ip(strategy));
    }
    if header {
        return Ok(Source::Header(c.request_header_name.clone()));
    }
    if c.request_host {
        return Ok(Source::Host);
    }
    Ok(default_source(host_default))
}

fn default_source(host: bool) -> Source {
    match host {
        true => Source::Host,
        false => Source::Ip(IpStrategy::RemoteAddr { ipv6_subnet: None }),
    }
}

/// Hands each rateLimit and inFlightReq of `next` whose name and fingerprint
/// are unchanged the very table of `prev`, before `next` is published, so
/// buckets and counts survive the reload; a changed definition starts empty.
pub fn carry_limits(next: &mut Snapshot, prev: &Snapshot) {
    let old: HashMap<(&str, u64), &Middleware> = prev
        .middlewares
        .iter()
        .map(|d| ((d.name.as_str(), d.fingerprint), &d.kind))
        .collect();
    for def in &mut next.middlewares {
        let key = (def.name.clone(), def.fingerprint);
        let Some(def) = Arc::get_mut(def) else {
            continue;
        };
        match (&mut def.kind, old.get(&(key.0.as_str(), key.1))) {
            (Middleware::RateLimit(new), Some(Middleware::RateLimit(was))) => {
                new.table = was.table.clone();
            }
            (Middleware::InFlightReq(new), Some(Middleware::InFlightReq(was))) => {
                new.table = was.table.clone();
            }
            // The breaker's state and measurements, kept with its definition.
            (Middleware::CircuitBreaker(new), Some(Middleware::CircuitBreaker(was))) => {
                new.0 = was.0.clone();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "tests_limits.rs"]
mod tests;
