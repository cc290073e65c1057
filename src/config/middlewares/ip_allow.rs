//! Compiles `ipAllowList` and its deprecated alias `ipWhiteList`: the source
//! range and excluded IPs parsed into IP sets, the `ipStrategy` chosen as
//! Traefik chooses it (`depth` wins over `excludedIPs`; `ipv6Subnet` is checked
//! only where it applies), and the reject status checked against Go's codes.

use super::Refusal;
use crate::config::raw_middleware::{RawIpAllowList, RawIpStrategy};
use crate::middleware::ip_strategy::{IpSet, IpStrategy};
use crate::middleware::{IpAllowList, Middleware, status_text};

/// `ipAllowList` (`white: false`) or `ipWhiteList` (`white: true`, always 403).
pub(super) fn ip_allow_list(m: &RawIpAllowList, white: bool) -> Result<Middleware, Refusal> {
    if m.source_range.is_empty() {
        return Err(refuse(
            "sourceRange",
            "missing: at least one IP or CIDR is required",
        ));
    }
    let source_range = IpSet::parse(&m.source_range)
        .map_err(|(i, why)| refuse(&format!("sourceRange[{i}]"), why))?;
    let strategy = strategy(m.ip_strategy.as_ref())?;
    let reject_status = match (m.reject_status_code, white) {
        (Some(_), true) => {
            return Err(refuse(
                "rejectStatusCode",
                "unknown key: ipWhiteList always answers 403 (ipAllowList has rejectStatusCode)",
            ));
        }
        (None | Some(0), _) => 403,
        (Some(code), false) => reject_status(code)?,
    };
    let list = IpAllowList {
        source_range,
        strategy,
        reject_status,
        reject_body: status_text(reject_status).unwrap_or_default(),
    };
    Ok(match white {
        true => Middleware::IpWhiteList(list),
        false => Middleware::IpAllowList(list),
    })
}

/// A status Go has a text for and that can carry the refusal's body.
fn reject_status(code: i64) -> Result<u16, Refusal> {
    let known = u16::try_from(code)
        .ok()
        .filter(|c| status_text(*c).is_some());
    let Some(code) = known else {
        return Err(refuse(
            "rejectStatusCode",
            format!("invalid HTTP status code {code}"),
        ));
    };
    if code < 200 || code == 204 || code == 304 {
        return Err(refuse(
            "rejectStatusCode",
            format!("{code} cannot carry a response body; use a 2xx-5xx status such as 403 or 404"),
        ));
    }
    Ok(code)
}

pub(super) fn strategy(raw: Option<&RawIpStrategy>) -> Result<IpStrategy, Refusal> {
    let Some(s) = raw else {
        return Ok(IpStrategy::RemoteAddr { ipv6_subnet: None });
    };
    if s.depth > 0 {
        return Ok(IpStrategy::Depth {
            depth: usize::try_from(s.depth).unwrap_or(usize::MAX),
            ipv6_subnet: subnet(s.ipv6_subnet)?,
        });
    }
    if !s.excluded_ips.is_empty() {
        let set = IpSet::parse(&s.excluded_ips)
            .map_err(|(i, why)| refuse(&format!("ipStrategy.excludedIPs[{i}]"), why))?;
        return Ok(IpStrategy::Excluded(set));
    }
    Ok(IpStrategy::RemoteAddr {
        ipv6_subnet: subnet(s.ipv6_subnet)?,
    })
}

fn subnet(bits: Option<i64>) -> Result<Option<u8>, Refusal> {
    match bits {
        None => Ok(None),
        Some(n @ 1..=128) => Ok(Some(n as u8)),
        Some(n) => Err(refuse(
            "ipStrategy.ipv6Subnet",
            format!("invalid IPv6 subnet {n}: it must be from 1 to 128"),
        )),
    }
}

fn refuse(key: &str, reason: impl Into<String>) -> Refusal {
    (key.to_string(), reason.into())
}

#[cfg(test)]
#[path = "tests_redirect_ip.rs"]
mod tests;
