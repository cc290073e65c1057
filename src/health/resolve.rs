//! The resolver thread, `proxyd-dns`: re-resolves the host names of
//! load-balanced servers in the published snapshot off the data path (blocking
//! getaddrinfo is fine here, never on a worker), every `DNS_REFRESH`, and
//! those that did not resolve every `DNS_RETRY`. The new address is stored in
//! the server's `ServerAddr`, which workers read without a lock; a snapshot
//! published by a reload was resolved when it was compiled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{DNS_REFRESH, DNS_RETRY, NamedAddr, ServiceKind};
use crate::control::Published;

/// How often the thread looks at the stop flag and at what is due.
const TICK: Duration = Duration::from_millis(100);

pub fn start(published: Arc<Published>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("proxyd-dns".into())
        .spawn(move || run(&published, &stop))
}

fn run(published: &Published, stop: &AtomicBool) {
    let (mut all_at, mut retry_at) = (Instant::now() + DNS_REFRESH, Instant::now() + DNS_RETRY);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let now = Instant::now();
        let all = now >= all_at;
        if !all && now < retry_at {
            continue;
        }
        let snap = published.load();
        for name in names(&snap.services) {
            if all || !name.is_resolved() {
                let _ = name.refresh();
            }
        }
        retry_at = now + DNS_RETRY;
        if all {
            all_at = now + DNS_REFRESH;
        }
    }
}

/// Every named server of every load balancer.
fn names(services: &[Arc<crate::config::Service>]) -> impl Iterator<Item = &NamedAddr> {
    let lbs = services.iter().filter_map(|s| match &s.kind {
        ServiceKind::LoadBalancer(lb) => Some(lb),
        _ => None,
    });
    lbs.flat_map(|lb| lb.servers.iter().filter_map(|s| s.addr.name()))
}
