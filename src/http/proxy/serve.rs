//! One request from its router's service to an answer: the walk down the
//! services of services (`tree`), the request kept whole when an upstream's
//! answer may send it again (`Downstream::keep`), forwarding to the load
//! balancer at the end of the walk, and a failover's `errors` sending the
//! request on to its fallback when the main service answered with one of
//! their statuses (as Traefik's failover replays its reusable request).

use std::rc::Rc;

use super::{Forwarded, forward};
use crate::config::ServiceKind;
use crate::http::codec::RequestHead;
use crate::http::downstream::Downstream;
use crate::http::error::ProxyError;
use crate::http::server::Outcome;
use crate::worker::view::{Runtime, ServiceState, View};

/// How serving a request ended.
pub enum Served {
    /// Forwarded (or failed): the client has its answer.
    Done(Outcome),
    /// The service answers itself (a built-in): the caller's protocol does.
    Local(Rc<ServiceState>),
}

/// Serves a request routed to service `id`.
pub async fn serve<D: Downstream>(d: &mut D, head: &RequestHead, view: &View, id: usize) -> Served {
    let mut target = id;
    let mut carried = None;
    // At most one fallback per failover on the way: bounded by the services.
    for walk in 0..=view.services.len() {
        let Some(r) = super::resolve(d, view, target) else {
            return Served::Done(no_server(d, head).await);
        };
        d.record().service = Some(r.leaf);
        let service = view.services[r.leaf].clone();
        let (Runtime::LoadBalancer(balancer), ServiceKind::LoadBalancer(lb)) =
            (&service.runtime, &service.def.kind)
        else {
            if walk > 0 {
                // A built-in answers from the request as it arrived, and this
                // one's body is in the spool: not supported.
                let why = "failover.errors to a service that answers itself";
                let outcome = d.fail(head, ProxyError::NotImplemented(why)).await;
                d.end_attempts();
                return Served::Done(outcome);
            }
            return Served::Local(service);
        };
        let errors = r.fallback.map(|f| f.errors);
        // The body is read once; a fallback gets what the main service got.
        if walk == 0
            && let Some(answered) = d.keep(head, errors).await
        {
            return Served::Done(answered);
        }
        let mirrored = r.mirrored.or(carried.take());
        match forward(d, head, lb, balancer, mirrored, errors).await {
            Forwarded::Sent(outcome) => return Served::Done(outcome),
            Forwarded::Fallback(m) => carried = m,
        }
        match r.fallback {
            Some(f) if f.up => target = f.service,
            // Traefik's failover answers 503 when its fallback is down.
            _ => break,
        }
    }
    Served::Done(no_server(d, head).await)
}

/// 503, then what was kept for a fallback goes (the answer still reads the
/// head).
async fn no_server<D: Downstream>(d: &mut D, head: &RequestHead) -> Outcome {
    let outcome = d.fail(head, ProxyError::NoServer).await;
    d.end_attempts();
    outcome
}
