//! Active health checks over TLS: an `https://` server is probed with its
//! transport's TLS, and `scheme = "https"` probes an `http://` one with TLS.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::server::{BOTH, TlsUpstream};
use super::{ca_file, ok, start};
use crate::common::*;
use crate::tls::pki::Ca;

const CHECK: &str = "[http.services.app.loadBalancer.healthCheck]\n\
                     path = \"/health\"\ninterval = \"100ms\"\ntimeout = \"2s\"\n";

/// Waits for `n` requests on the upstream (probes, as nothing else
/// connects), then checks that no probe marked the server down.
fn probed_and_up(p: &Proxy, up: &TlsUpstream, n: usize) {
    let seen = poll_until(Duration::from_secs(10), Duration::from_millis(20), || {
        (up.stats.requests.load(Ordering::SeqCst) >= n).then_some(())
    });
    assert!(
        seen.is_some(),
        "{:?} handshakes\n{}",
        up.handshakes(),
        p.log_text()
    );
    assert!(!p.log_contains("DOWN"), "{}", p.log_text());
}

#[test]
fn an_https_server_is_probed_over_tls() {
    let ca = Ca::new("upstream CA");
    let up = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, None);
    let p = start(
        &up.url(),
        "rootCAs = [\"ca.crt\"]\n",
        &[ca_file(&ca)],
        CHECK,
    );
    probed_and_up(&p, &up, 3);
    // The probes kept their connection: one handshake for three probes.
    assert_eq!(up.handshakes(), (1, 0));
    assert!(ok(&p).contains("version=1.3"));
}

#[test]
fn scheme_https_probes_an_http_server_with_tls() {
    let ca = Ca::new("upstream CA");
    let up = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, None);
    let url = format!("http://{}", up.addr());
    let check = format!("{CHECK}scheme = \"https\"\n");
    let p = start(&url, "rootCAs = [\"ca.crt\"]\n", &[ca_file(&ca)], &check);
    probed_and_up(&p, &up, 3);
}
