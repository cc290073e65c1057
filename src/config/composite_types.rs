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
}
