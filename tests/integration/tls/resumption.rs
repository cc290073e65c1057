//! Session resumption with tickets: TLS 1.3 and TLS 1.2, rustls and OpenSSL
//! clients, on two workers (the ticket keys are process-wide, so a ticket from
//! one worker resumes on the other), across a reload that leaves the
//! certificates alone; `disableSessionTickets` turns it off; the metrics count
//! full and resumed handshakes. No session-ID cache: as with Traefik (Go keeps
//! none), TLS 1.2 clients resume with tickets.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, HandshakeKind};

use super::openssl::{SClient, assert_clean};
use super::pki::{Opts, client_config, connect};
use super::{Site, certs_toml, start_with};
use crate::common::config::router;
use crate::common::*;
use crate::observe::{scrape_until, with_admin};
use crate::reload::{respond, wait_generation, write_renamed};

const LIMIT: Duration = Duration::from_secs(10);
const CLOSE: &str = "GET /who HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";

fn whoami() -> String {
    format!(
        "{}[http.routers.r.tls]\n{}",
        router("r", "PathPrefix(`/`)", "whoami@internal"),
        certs_toml(true)
    )
}

/// One request on a new connection (reading the response also takes in the
/// tickets a TLS 1.3 server sends after the handshake); how it was resumed.
fn one(p: &Proxy, cfg: &Arc<ClientConfig>) -> HandshakeKind {
    let mut s = connect(p.addr(), "a.test", cfg.clone()).unwrap();
    let kind = s.conn.handshake_kind().unwrap();
    s.write_all(CLOSE.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert!(out.starts_with(b"HTTP/1.1 200"));
    kind
}

fn kinds(p: &Proxy, cfg: &Arc<ClientConfig>, n: usize) -> Vec<HandshakeKind> {
    (0..n).map(|_| one(p, cfg)).collect()
}

/// Eight connections: the first is full, the others resume, whichever of the two
/// workers SO_REUSEPORT hands them to (all on one worker: odds of 1 in 128).
#[test]
fn resumption_on_two_workers_tls13_and_tls12_counted_in_metrics() {
    let site = Site::new();
    let p = start_with(&site, &whoami(), |mut c| {
        c.cores = Some(2);
        with_admin(c, "[metrics.prometheus]\n")
    });
    for tls12_only in [false, true] {
        let cfg = client_config(Opts {
            tls12_only,
            ..Opts::default()
        });
        let got = kinds(&p, &cfg, 8);
        assert_eq!(got[0], HandshakeKind::Full, "tls12_only={tls12_only}");
        assert!(
            got[1..].iter().all(|k| *k == HandshakeKind::Resumed),
            "tls12_only={tls12_only}: {got:?}"
        );
    }
    let text = scrape_until(&p, |t| {
        t.contains("proxyd_tls_handshakes_total{resumed=\"true\"} 14")
    });
    assert!(
        text.contains("proxyd_tls_handshakes_total{resumed=\"false\"} 2"),
        "{text}"
    );
}

#[test]
fn resumption_survives_a_reload_that_keeps_the_certificates() {
    let site = Site::new();
    let p = start_with(&site, &whoami(), |c| c.watched(Some("100ms")));
    let cfg = client_config(Opts::default());
    assert_eq!(one(&p, &cfg), HandshakeKind::Full);
    let file = p.dynamic_dir().join("dynamic.toml");
    write_renamed(
        &file,
        &format!("{}{}", whoami(), respond("other", "o.test", "o")),
    );
    wait_generation(&p, 2);
    assert_eq!(one(&p, &cfg), HandshakeKind::Resumed);
}

#[test]
fn disable_session_tickets_means_full_handshakes() {
    let site = Site::new();
    let opts = "[tls.options.default]\ndisableSessionTickets = true\n";
    let p = start_with(&site, &format!("{}{opts}", whoami()), |c| c);
    for tls12_only in [false, true] {
        let cfg = client_config(Opts {
            tls12_only,
            ..Opts::default()
        });
        let got = kinds(&p, &cfg, 3);
        assert!(
            got.iter().all(|k| *k == HandshakeKind::Full),
            "tls12_only={tls12_only}: {got:?}"
        );
    }
}

/// `openssl s_client -sess_out` then, if it had a session to save, `-sess_in`:
/// "New," then "Reused,".
fn openssl_pair(p: &Proxy, version: &str) -> (String, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let sess = dir.path().join("session.pem");
    let run = |flag: &str| {
        let mut c = SClient::start(p.addr(), &[version, flag, sess.to_str().unwrap()]);
        c.send(CLOSE);
        let out = c.finish(LIMIT);
        assert!(out.contains("HTTP/1.1 200"), "{out}");
        assert_clean(&out, "Connection: close");
        out
    };
    let first = run("-sess_out");
    let second = sess.exists().then(|| run("-sess_in"));
    (first, second)
}

#[test]
fn openssl_resumes_with_tickets_on_tls13_and_tls12() {
    let site = Site::new();
    let p = start_with(&site, &whoami(), |mut c| {
        c.cores = Some(2);
        c
    });
    for version in ["-tls1_3", "-tls1_2"] {
        let (first, second) = openssl_pair(&p, version);
        assert!(first.contains("New,"), "{version}: {first}");
        let second = second.expect("a session to resume");
        assert!(second.contains("Reused,"), "{version}: {second}");
    }
    // Without tickets: TLS 1.3 has no session to save, TLS 1.2 one that no
    // server cache knows.
    let site = Site::new();
    let opts = "[tls.options.default]\ndisableSessionTickets = true\n";
    let p = start_with(&site, &format!("{}{opts}", whoami()), |c| c);
    for version in ["-tls1_3", "-tls1_2"] {
        if let (_, Some(second)) = openssl_pair(&p, version) {
            assert!(second.contains("New,"), "{version}: tickets off: {second}");
        }
    }
}
