//! Services of services on the request path: from the router's service down
//! to the one that answers (a load balancer or a built-in), through
//! `weighted` (smooth weighted round robin over the children, their sticky
//! cookie, skipping children that are down when it follows their health) and
//! `failover` (its service while that is up, else its fallback; with
//! `errors`, the fallback is noted for the main service's answers) and
//! `mirroring` (its service, noting the mirrors chosen for the request).

use crate::config::{Failover, FailoverErrors, ServiceKind, Snapshot, Weighted};
use crate::http::downstream::Downstream;
use crate::service::status;
use crate::service::wrr::Wrr;
use crate::worker::view::{Runtime, View};

use super::mirror::Mirrored;

/// The service that answers a request, and what the way to it decided.
pub struct Resolved<'v> {
    /// The service that answers (a load balancer or a built-in).
    pub leaf: usize,
    /// The mirrors the first mirroring service on the way chose.
    pub mirrored: Option<Mirrored<'v>>,
    /// The first failover with `errors` whose main service was taken.
    pub fallback: Option<Fallback>,
}

/// Where a failover's main service's answer in `errors` sends the request.
#[derive(Debug, Clone, Copy)]
pub struct Fallback {
    pub errors: FailoverErrors,
    /// The fallback service.
    pub service: usize,
    /// Whether it could take the request when the way was walked (always,
    /// unless the failover follows its health).
    pub up: bool,
}

/// The service that answers a request routed to `id`; `None` when no child
/// can take it (503, as Traefik's "no available server").
pub fn resolve<'v, D: Downstream>(
    d: &mut D,
    view: &'v View,
    mut id: usize,
) -> Option<Resolved<'v>> {
    let mut mirrored = None;
    let mut fallback = None;
    // Cycles are refused at load: a walk is at most as long as the list.
    for _ in 0..=view.services.len() {
        let state = &view.services[id];
        id = match (&state.runtime, &state.def.kind) {
            (Runtime::Weighted(wrr), ServiceKind::Weighted(w)) => {
                weighted(d, &view.snapshot, w, &mut wrr.borrow_mut())?
            }
            (_, ServiceKind::Failover(f)) => {
                let next = failover(&view.snapshot, f)?;
                if next == f.service && fallback.is_none() {
                    fallback = with_errors(&view.snapshot, f);
                }
                next
            }
            (Runtime::Mirroring(counts), ServiceKind::Mirroring(m)) => {
                if mirrored.is_none() {
                    let mut picks = Vec::new();
                    counts.choose(m, |i| picks.push(m.mirrors[i].service));
                    mirrored = (!picks.is_empty()).then_some(Mirrored {
                        def: m,
                        picks,
                        view,
                    });
                }
                m.service
            }
            _ => {
                return Some(Resolved {
                    leaf: id,
                    mirrored,
                    fallback,
                });
            }
        };
    }
    None
}

fn weighted<D: Downstream>(
    d: &mut D,
    snap: &Snapshot,
    w: &Weighted,
    wrr: &mut Wrr,
) -> Option<usize> {
    let up = |i: usize| {
        let c = &w.services[i];
        c.weight > 0 && (!w.health_check || status::up(snap, c.service))
    };
    let sticky = w.sticky.as_deref();
    let pinned = sticky.and_then(|s| {
        d.request_cookie(s.name.as_bytes())
            .and_then(|v| s.server(v))
    });
    let pinned = pinned.filter(|&(i, _)| up(i));
    let index = match pinned {
        Some((i, _)) => i,
        None => wrr.pick_up(up)?,
    };
    if let Some(s) = sticky
        && pinned.is_none_or(|(_, legacy)| legacy)
    {
        let value = &s.values[index];
        let parts = [
            s.name.as_bytes(),
            b"=",
            value.as_bytes(),
            s.attributes.as_bytes(),
        ];
        d.add_response_header(b"Set-Cookie", &parts);
    }
    Some(w.services[index].service)
}

/// A failover's `errors`, when they can send anything to the fallback.
fn with_errors(snap: &Snapshot, f: &Failover) -> Option<Fallback> {
    let errors = f.errors.filter(|e| !e.status.is_empty())?;
    Some(Fallback {
        errors,
        service: f.fallback,
        up: !f.health_check || status::up(snap, f.fallback),
    })
}

/// Traefik follows the main service's state always, the fallback's only
/// with the failover's own `healthCheck`.
fn failover(snap: &Snapshot, f: &Failover) -> Option<usize> {
    if status::up(snap, f.service) {
        return Some(f.service);
    }
    (!f.health_check || status::up(snap, f.fallback)).then_some(f.fallback)
}
