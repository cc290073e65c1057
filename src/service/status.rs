//! Whether a service can take a request, as its parents see it (Traefik's
//! health propagation): a load balancer while one of its servers is up, a
//! weighted service with `healthCheck` while one child with a weight is, a
//! failover with `healthCheck` while its service or its fallback is, a
//! mirroring service with `healthCheck` while its main service is. A
//! service that does not follow its children reports up (configuration
//! refuses it as a followed child anyway).
//!
//! Computed on demand from the servers' shared flags, so there is no state
//! to keep in step; the tree is acyclic (refused at load) and shallow.

use crate::config::{ServiceKind, Snapshot};

pub fn up(snap: &Snapshot, id: usize) -> bool {
    match &snap.services[id].kind {
        ServiceKind::LoadBalancer(lb) => (0..lb.servers.len()).any(|i| lb.server_up(i)),
        ServiceKind::Weighted(w) if w.health_check => {
            (w.services.iter()).any(|c| c.weight > 0 && up(snap, c.service))
        }
        ServiceKind::Failover(f) if f.health_check => up(snap, f.service) || up(snap, f.fallback),
        ServiceKind::Mirroring(m) if m.health_check => up(snap, m.service),
        _ => true,
    }
}
