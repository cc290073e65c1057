//! Services made of services (Traefik's `weighted` and `failover`), compiled:
//! their children are ids into `Snapshot::services`, resolved and checked for
//! cycles when the configuration loads (`config/services/composite.rs`).

use std::sync::Arc;

use super::types::StickyCookie;

/// `http.services.<n>.weighted`: weighted round robin over services.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted {
    pub services: Vec<WeightedChild>,
    /// `sticky.cookie`: its values name the children (same indices).
    pub sticky: Option<Arc<StickyCookie>>,
    /// `healthCheck: {}`: children that are down are skipped, and the service
    /// is down when all are.
    pub health_check: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeightedChild {
    /// As written (`name` or `name@file`).
    pub name: String,
    /// Index into `Snapshot::services`.
    pub service: usize,
    /// Non-positive weights never get a request, as in Traefik.
    pub weight: u32,
}

/// `http.services.<n>.mirroring`: `service` answers; each mirror gets a copy
/// of `percent`% of the requests, whose answer is discarded.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirroring {
    pub service_name: String,
    /// Index into `Snapshot::services`.
    pub service: usize,
    pub mirrors: Vec<Mirror>,
    /// `mirrorBody`: copy the body too (else requests with one are not mirrored).
    pub mirror_body: bool,
    /// `maxBodySize`: a larger body is not mirrored; negative: no limit of its own.
    pub max_body_size: i64,
    /// `healthCheck: {}`: the service reports its main service's state.
    pub health_check: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    pub name: String,
    /// Index into `Snapshot::services`: a load balancer.
    pub service: usize,
    /// 0 to 100.
    pub percent: u32,
}

/// `http.services.<n>.failover`: `service` while it is up, else `fallback`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failover {
    pub service_name: String,
    pub fallback_name: String,
    /// Indices into `Snapshot::services`.
    pub service: usize,
    pub fallback: usize,
    /// `healthCheck: {}`: the fallback's state is followed too (without it the
    /// fallback always counts as up), and the service reports up while either is.
    pub health_check: bool,
    /// `errors`: which of the main service's answers go to the fallback.
    pub errors: Option<FailoverErrors>,
}

/// `failover.errors`, compiled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailoverErrors {
    /// An answer from the main service with one of these statuses is
    /// discarded and the request replayed to the fallback.
    pub status: crate::middleware::StatusSet,
    /// The body kept for the replay; a larger one is refused with 413, as
    /// Traefik does. `None`: no limit (Traefik's default, -1).
    pub max_request_body_bytes: Option<u64>,
}
