//! A worker's local view of the published snapshot: the snapshot plus the mutable
//! per-service state (load-balancer cursors, prebuilt responses) and
//! per-middleware state (verified credentials). Rebuilt only when the generation
//! changes, carrying over the state of every service and every middleware
//! whose definition did not change.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::config::{Service, ServiceKind, Snapshot};
use crate::middleware::State;
use crate::service::balancer::Balancer;
use crate::service::wrr::Wrr;

pub struct View {
    pub snapshot: Arc<Snapshot>,
    /// Same indices as `snapshot.services`.
    pub services: Vec<Rc<ServiceState>>,
    /// Same indices as `snapshot.tcp.services` (cursors restart on a reload).
    pub tcp: Vec<crate::tcp::proxy::Balancer>,
    /// Same indices as `snapshot.middlewares`. A middleware whose name and
    /// fingerprint are unchanged keeps its state over a reload (an auth
    /// middleware's verified credentials); any change to its definition or the
    /// files it reads starts it afresh.
    pub middlewares: Vec<Rc<crate::middleware::State>>,
}

pub struct ServiceState {
    pub def: Arc<Service>,
    pub runtime: Runtime,
}

pub enum Runtime {
    LoadBalancer(Balancer),
    Whoami,
    /// Answered from the definition alone (`http/server/answers.rs`).
    Respond,
    /// api, dashboard, ping, prometheus `@internal` (see `observe::serve`).
    Observe(crate::config::observe::Internal),
    /// Answered by `tls::redirect` from the definition alone.
    Redirect,
    /// `weighted`: the cursor over its children (`http/proxy/tree.rs`).
    Weighted(std::cell::RefCell<crate::service::wrr::Wrr>),
    /// `failover`: decided from the children's state alone.
    Failover,
    /// `mirroring`: how many requests each mirror got.
    Mirroring(crate::service::mirror::MirrorCounts),
}

impl View {
    pub fn build(snapshot: Arc<Snapshot>, previous: Option<&View>) -> View {
        let old: HashMap<&str, &Rc<ServiceState>> = previous
            .map(|v| {
                v.services
                    .iter()
                    .map(|s| (s.def.name.as_str(), s))
                    .collect()
            })
            .unwrap_or_default();
        let services = snapshot
            .services
            .iter()
            .map(|def| match old.get(def.name.as_str()) {
                Some(state) if *state.def == **def => Rc::clone(state),
                _ => Rc::new(ServiceState::new(def.clone())),
            })
            .collect();
        let tcp = snapshot
            .tcp
            .services
            .iter()
            .map(|s| crate::tcp::proxy::Balancer::new(s))
            .collect();
        let middlewares = middleware_states(&snapshot, previous);
        View {
            snapshot,
            services,
            tcp,
            middlewares,
        }
    }
}

fn middleware_states(snapshot: &Snapshot, previous: Option<&View>) -> Vec<Rc<State>> {
    let old: HashMap<(&str, u64), &Rc<State>> = previous
        .map(|v| {
            let defs = v.snapshot.middlewares.iter();
            defs.map(|d| (d.name.as_str(), d.fingerprint))
                .zip(&v.middlewares)
                .collect()
        })
        .unwrap_or_default();
    snapshot
        .middlewares
        .iter()
        .map(|d| match old.get(&(d.name.as_str(), d.fingerprint)) {
            Some(state) => Rc::clone(state),
            None => Rc::new(State::new(&d.kind)),
        })
        .collect()
}

impl ServiceState {
    fn new(def: Arc<Service>) -> Self {
        let runtime = match &def.kind {
            ServiceKind::LoadBalancer(lb) => Runtime::LoadBalancer(Balancer::new(lb)),
            ServiceKind::Whoami => Runtime::Whoami,
            ServiceKind::Respond(_) => Runtime::Respond,
            ServiceKind::Observe(k) => Runtime::Observe(*k),
            ServiceKind::Redirect(_) => Runtime::Redirect,
            ServiceKind::Weighted(w) => {
                let weights = w.services.iter().map(|c| c.weight);
                Runtime::Weighted(std::cell::RefCell::new(Wrr::new(weights)))
            }
            ServiceKind::Failover(_) => Runtime::Failover,
            ServiceKind::Mirroring(m) => {
                Runtime::Mirroring(crate::service::mirror::MirrorCounts::new(m))
            }
        };
        Self { def, runtime }
    }
}
