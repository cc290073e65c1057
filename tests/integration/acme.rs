//! ACME against Let's Encrypt's Pebble (Debian package `pebble`): issuance by
//! http-01 and tls-alpn-01 answered by proxyd itself, the certificate served to
//! an SNI client that trusts Pebble's root, storage kept across a restart and
//! read by a second proxyd (no new order), renewal of a certificate inside its
//! renew period (and the old one kept when the CA is gone), and a challenge
//! proxyd cannot answer logged with the CA's error and retried.

mod pebble;

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use pebble::{Opts, Pebble, free_port};

const ISSUE_LIMIT: Duration = Duration::from_secs(60);
const HOST: &str = "site.acme.test";

fn dynamic(resolver: &str) -> String {
    format!(
        "[http.routers.site]\nrule = \"Host(`{HOST}`)\"\nservice = \"ok\"\nentryPoints = [\"websecure\"]\n\
         [http.routers.site.tls]\ncertResolver = \"{resolver}\"\n\
         [http.services.ok.loadBalancer]\n[[http.services.ok.loadBalancer.servers]]\nurl = \"http://127.0.0.1:9\"\n"
    )
}

fn config(web: u16, websecure: u16, resolver: &str) -> ProxyConfig {
    let mut secure = EntryPoint::new("websecure");
    secure.address = format!("127.0.0.1:{websecure}");
    let mut cfg =
        ProxyConfig::new(&dynamic("pebble")).web(|e| e.address = format!("127.0.0.1:{web}"));
    cfg.entry_points.push(secure);
    cfg.extra_static = resolver.to_string();
    cfg
}

/// The leaf served for `HOST` to a client that trusts only Pebble's root.
fn served(client: &Arc<rustls::ClientConfig>, port: u16) -> Option<Vec<u8>> {
    let name = rustls::pki_types::ServerName::try_from(HOST).ok()?;
    let conn = rustls::ClientConnection::new(client.clone(), name).ok()?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).ok()?;
    }
    Some(s.conn.peer_certificates()?[0].to_vec())
}

fn wait_served(pebble: &Pebble, port: u16, p: &Proxy) -> Vec<u8> {
    let client = pebble.client();
    let got = poll_until(ISSUE_LIMIT, Duration::from_millis(100), || {
        served(&client, port)
    });
    got.unwrap_or_else(|| {
        panic!(
            "no ACME certificate served\nproxyd:\n{}\npebble:\n{}",
            p.log_text(),
            pebble.log()
        )
    })
}

fn stored_certs(storage: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(storage).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["pebble"]["Certificates"].clone()
}

#[test]
fn http01_issues_serves_and_keeps_the_certificate_across_a_restart() {
    let (web, websecure) = (free_port(), free_port());
    let pebble = Pebble::start(Opts {
        http_port: web,
        tls_port: free_port(),
        validity: None,
    });
    let storage = pebble.dir.path().join("acme.json");
    let challenge = "[certificatesResolvers.pebble.acme.httpChallenge]\nentryPoint = \"web\"";
    let cfg = config(
        web,
        websecure,
        &pebble.resolver("pebble", &storage, challenge, ""),
    );
    let started = Instant::now();
    let p = Proxy::restart(&cfg);
    let first = wait_served(&pebble, websecure, &p);
    eprintln!(
        "acme http-01: start to served certificate {:?}",
        started.elapsed()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&storage).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(stored_certs(&storage)[0]["domain"]["main"], HOST);
    // A second proxyd reading the same storage serves it too, without an order.
    let (web2, secure2) = (free_port(), free_port());
    let second = Proxy::restart(&config(web2, secure2, &cfg.extra_static));
    assert_eq!(
        served(&pebble.client(), secure2).as_deref(),
        Some(&first[..])
    );
    assert!(
        !second.log_contains("certificate obtained"),
        "{}",
        second.log_text()
    );
    drop(second);
    drop(p);
    // A restart serves the stored certificate at once, without a new order.
    let p = Proxy::restart(&cfg);
    assert!(
        p.wait_log("1 certificate(s) loaded", Duration::from_secs(5)),
        "{}",
        p.log_text()
    );
    assert_eq!(
        served(&pebble.client(), websecure).as_deref(),
        Some(&first[..])
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!p.log_contains("certificate obtained"), "{}", p.log_text());
}

#[test]
fn tls_alpn01_issues_the_certificate() {
    let websecure = free_port();
    let pebble = Pebble::start(Opts {
        http_port: free_port(),
        tls_port: websecure,
        validity: None,
    });
    let storage = pebble.dir.path().join("acme.json");
    let challenge = "[certificatesResolvers.pebble.acme.tlsChallenge]";
    let cfg = config(
        free_port(),
        websecure,
        &pebble.resolver("pebble", &storage, challenge, ""),
    );
    let started = Instant::now();
    let p = Proxy::restart(&cfg);
    wait_served(&pebble, websecure, &p);
    eprintln!(
        "acme tls-alpn-01: start to served certificate {:?}",
        started.elapsed()
    );
    assert!(
        p.wait_log("certificate obtained", LOG_WAIT),
        "{}",
        p.log_text()
    );
}

#[test]
fn a_certificate_inside_its_renew_period_is_renewed() {
    let (web, websecure) = (free_port(), free_port());
    // 10 minutes of validity; certificatesDuration 1 h renews 20 minutes ahead.
    let pebble = Pebble::start(Opts {
        http_port: web,
        tls_port: free_port(),
        validity: Some(600),
    });
    let storage = pebble.dir.path().join("acme.json");
    let challenge = "[certificatesResolvers.pebble.acme.httpChallenge]\nentryPoint = \"web\"";
    let resolver = pebble.resolver("pebble", &storage, challenge, "certificatesDuration = 1");
    let cfg = config(web, websecure, &resolver);
    let p = Proxy::restart(&cfg);
    let first = wait_served(&pebble, websecure, &p);
    drop(p);
    let p = Proxy::restart(&cfg);
    assert!(
        p.wait_log("renewing the certificate", ISSUE_LIMIT),
        "{}",
        p.log_text()
    );
    let client = pebble.client();
    let renewed = poll_until(ISSUE_LIMIT, Duration::from_millis(100), || {
        served(&client, websecure).filter(|c| *c != first)
    });
    assert!(renewed.is_some(), "not renewed:\n{}", p.log_text());
    assert_eq!(stored_certs(&storage).as_array().unwrap().len(), 1);
}

#[test]
fn a_failed_renewal_keeps_the_certificate() {
    let (web, websecure) = (free_port(), free_port());
    let mut pebble = Pebble::start(Opts {
        http_port: web,
        tls_port: free_port(),
        validity: Some(600),
    });
    let storage = pebble.dir.path().join("acme.json");
    let challenge = "[certificatesResolvers.pebble.acme.httpChallenge]\nentryPoint = \"web\"";
    let resolver = pebble.resolver("pebble", &storage, challenge, "certificatesDuration = 1");
    let cfg = config(web, websecure, &resolver);
    let p = Proxy::restart(&cfg);
    let first = wait_served(&pebble, websecure, &p);
    drop(p);
    let client = pebble.client();
    pebble.stop_ca();
    // Due for renewal at start, the CA is gone: logged, and the old one stays.
    let p = Proxy::restart(&cfg);
    let failed = "cannot renew a certificate for [\"site.acme.test\"]";
    assert!(p.wait_log(failed, ISSUE_LIMIT), "{}", p.log_text());
    assert_eq!(served(&client, websecure).as_deref(), Some(&first[..]));
    assert_eq!(stored_certs(&storage).as_array().unwrap().len(), 1);
}

#[test]
fn a_challenge_proxyd_cannot_answer_is_logged_and_retried() {
    let (web, websecure, other) = (free_port(), free_port(), free_port());
    // Pebble validates http-01 on `web`, but the resolver answers on `other`.
    let pebble = Pebble::start(Opts {
        http_port: web,
        tls_port: free_port(),
        validity: None,
    });
    let storage = pebble.dir.path().join("acme.json");
    let challenge = "[certificatesResolvers.pebble.acme.httpChallenge]\nentryPoint = \"other\"";
    let mut other_ep = EntryPoint::new("other");
    other_ep.address = format!("127.0.0.1:{other}");
    let cfg = config(
        web,
        websecure,
        &pebble.resolver("pebble", &storage, challenge, ""),
    )
    .entry_point(other_ep);
    let p = Proxy::restart(&cfg);
    let failed = "cannot obtain a certificate for [\"site.acme.test\"]";
    assert!(p.wait_log_count(failed, 2, ISSUE_LIMIT), "{}", p.log_text());
    assert!(
        p.wait_log("urn:ietf:params:acme:error:", LOG_WAIT),
        "{}",
        p.log_text()
    );
    assert!(p.wait_log("next try in", LOG_WAIT), "{}", p.log_text());
    assert!(served(&pebble.client(), websecure).is_none());
}
