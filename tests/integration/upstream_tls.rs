//! `https://` servers and `serversTransports` TLS against the real binary: a
//! rustls upstream with rcgen certificates (`upstream_tls/server.rs`); probes
//! over TLS (`probes`); server URLs with host names (`names`); `peerCertSANs`
//! (`sans`); forwardAuth to an https auth server (`forward_auth`).

mod forward_auth;
mod names;
mod probes;
mod sans;
mod server;

use std::fmt::Write as _;
use std::time::Duration;

use crate::common::client::{Response, get};
use crate::common::config::router;
use crate::common::*;
use crate::tls::pki::{Ca, Leaf};
use server::{BOTH, TLS12, TlsUpstream};

/// Proxy config: router `app` (Host `app.test`) → service `app` with `url`
/// and transport `t` with `transport` lines, `more` TOML after them; `files`
/// go beside the dynamic file.
fn start(url: &str, transport: &str, files: &[(&str, String)], more: &str) -> Proxy {
    let mut dynamic = router("app", "Host(`app.test`)", "app");
    let _ = write!(
        dynamic,
        "[http.services.app.loadBalancer]\nserversTransport = \"t\"\n\
         [[http.services.app.loadBalancer.servers]]\nurl = \"{url}\"\n\
         [http.serversTransports.t]\n{transport}{more}"
    );
    let mut cfg = ProxyConfig::new(&dynamic);
    for (name, text) in files {
        cfg.dynamic.push((name.to_string(), text.clone()));
    }
    Proxy::start(&cfg)
}

/// The upstream's report of one request's connection.
fn ask(p: &Proxy) -> Response {
    get(p.addr(), "app.test", "/")
}

fn ok(p: &Proxy) -> String {
    let r = ask(p);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
    r.text()
}

/// A 502 whose log line names the server and has `reason`.
fn refused(p: &Proxy, url: &str, reason: &str) {
    let r = ask(p);
    assert_eq!(r.status, 502, "{}", r.text());
    let needle = format!("upstream={url}");
    assert!(
        p.wait_log(&needle, Duration::from_secs(5)),
        "no log line naming {url}:\n{}",
        p.log_text()
    );
    let line = p
        .log_lines()
        .into_iter()
        .find(|l| l.contains(&needle))
        .unwrap();
    assert!(
        line.contains("TLS handshake failed") && line.contains(reason),
        "{line}"
    );
}

fn ca_file(ca: &Ca) -> (&'static str, String) {
    ("ca.crt", ca.pem())
}

#[test]
fn root_cas_verify_the_upstream_and_connections_are_pooled() {
    let ca = Ca::new("upstream CA");
    let up = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, None);
    let p = start(&up.url(), "rootCAs = [\"ca.crt\"]\n", &[ca_file(&ca)], "");
    for _ in 0..3 {
        let text = ok(&p);
        // One connection, reused: no SNI for an IP address, TLS 1.3, ALPN-free.
        assert!(text.starts_with("conn=1 sni=- version=1.3"), "{text}");
    }
    assert_eq!(up.handshakes(), (1, 0));
}

#[test]
fn wrong_ca_or_system_roots_refuse_the_upstream() {
    let ca = Ca::new("upstream CA");
    let other = Ca::new("other CA");
    let up = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, None);
    let p = start(
        &up.url(),
        "rootCAs = [\"ca.crt\"]\n",
        &[ca_file(&other)],
        "",
    );
    refused(&p, &up.url(), "UnknownIssuer");
    drop(p);
    // No rootCAs: the system's roots, which do not know the test CA.
    let p = start(&up.url(), "maxIdleConnsPerHost = 1\n", &[], "");
    refused(&p, &up.url(), "UnknownIssuer");
}

#[test]
fn insecure_skip_verify_accepts_any_certificate() {
    let ca = Ca::new("unknown CA");
    let up = TlsUpstream::start(&ca.leaf(&["elsewhere.test"]), BOTH, None);
    let p = start(&up.url(), "insecureSkipVerify = true\n", &[], "");
    assert!(ok(&p).starts_with("conn=1 "));
}

#[test]
fn server_name_is_sent_and_verified() {
    let ca = Ca::new("upstream CA");
    let up = TlsUpstream::start(&ca.leaf(&["backend.test"]), BOTH, None);
    let t = "rootCAs = [\"ca.crt\"]\nserverName = \"backend.test\"\n";
    let p = start(&up.url(), t, &[ca_file(&ca)], "");
    assert!(ok(&p).contains("sni=backend.test "));
    drop(p);
    let t = "rootCAs = [\"ca.crt\"]\nserverName = \"other.test\"\n";
    let p = start(&up.url(), t, &[ca_file(&ca)], "");
    refused(&p, &up.url(), "not valid for name");
}

#[test]
fn client_certificate_goes_to_an_upstream_that_requires_one() {
    let ca = Ca::new("upstream CA");
    let clients = Ca::new("client CA");
    let up = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, Some(clients.roots()));
    let p = start(&up.url(), "rootCAs = [\"ca.crt\"]\n", &[ca_file(&ca)], "");
    let r = ask(&p);
    assert_eq!(r.status, 502, "no client certificate: {}", r.text());
    drop(p);
    let me: Leaf = clients.leaf(&["proxyd.test"]);
    let t = "rootCAs = [\"ca.crt\"]\n\
             [[http.serversTransports.t.certificates]]\ncertFile = \"me.crt\"\nkeyFile = \"me.key\"\n";
    let files = [
        ca_file(&ca),
        ("me.crt", me.cert_pem.clone()),
        ("me.key", me.key_pem.clone()),
    ];
    let p = start(&up.url(), t, &files, "");
    assert!(ok(&p).contains("client_cert=true"));
}

#[test]
fn min_and_max_version_are_honoured() {
    let ca = Ca::new("upstream CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let both = TlsUpstream::start(&leaf, BOTH, None);
    let t = "rootCAs = [\"ca.crt\"]\nmaxVersion = \"VersionTLS12\"\n";
    let p = start(&both.url(), t, &[ca_file(&ca)], "");
    assert!(ok(&p).contains("version=1.2"));
    drop(p);
    let old = TlsUpstream::start(&leaf, TLS12, None);
    let t = "rootCAs = [\"ca.crt\"]\nminVersion = \"VersionTLS13\"\n";
    let p = start(&old.url(), t, &[ca_file(&ca)], "");
    let r = ask(&p);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(old.handshakes(), (0, 0));
}

#[test]
fn a_new_connection_resumes_the_session_of_the_previous_one() {
    let ca = Ca::new("upstream CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    for (versions, max) in [(BOTH, "VersionTLS13"), (BOTH, "VersionTLS12")] {
        let up = TlsUpstream::start(&leaf, versions, None);
        // No idle pooling: every request dials, so each is a pool miss.
        let t =
            format!("rootCAs = [\"ca.crt\"]\nmaxVersion = \"{max}\"\nmaxIdleConnsPerHost = 0\n");
        let p = start(&up.url(), &t, &[ca_file(&ca)], "");
        let first = ok(&p);
        assert!(
            first.contains("conn=1 ") && first.contains("resumed=false"),
            "{first}"
        );
        for n in 2..=3 {
            let text = ok(&p);
            assert!(text.contains(&format!("conn={n} ")), "{max}: {text}");
            assert!(text.contains("resumed=true"), "{max}: {text}");
        }
        assert_eq!(up.handshakes(), (1, 2), "{max}");
    }
}

#[test]
fn bad_transport_tls_settings_are_refused_at_load() {
    let dynamic = format!(
        "{}[http.services.app.loadBalancer]\nserversTransport = \"t\"\n\
         [[http.services.app.loadBalancer.servers]]\nurl = \"https://127.0.0.1:1\"\n\
         [http.serversTransports.t]\nrootCAs = [\"missing.crt\"]\nminVersion = \"VersionTLS9\"\n",
        router("app", "Host(`app.test`)", "app")
    );
    let (_dir, file) = ProxyConfig::new(&dynamic).write();
    let out = proxy::run_to_exit(
        &["check", "--config", file.to_str().unwrap()],
        None,
        Duration::from_secs(15),
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("http.serversTransports.t.rootCAs[0]"), "{err}");
    assert!(err.contains("missing.crt"), "{err}");
    assert!(err.contains("http.serversTransports.t.minVersion"), "{err}");
}

/// A leaf for 127.0.0.1 that also carries `uri` as a URI SAN.
fn leaf_with_uri(ca: &Ca, uri: &str) -> Leaf {
    leaf_with(ca, &["127.0.0.1"], uri)
}

/// A leaf for `names` (IP addresses or DNS names) and the URI SAN `uri`.
fn leaf_with(ca: &Ca, names: &[&str], uri: &str) -> Leaf {
    use rcgen::{CertificateParams, KeyPair, SanType};
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .subject_alt_names
        .push(SanType::URI(uri.try_into().unwrap()));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

#[test]
fn peer_cert_uri_requires_that_uri_san() {
    let ca = Ca::new("upstream CA");
    let up = TlsUpstream::start(&leaf_with_uri(&ca, "spiffe://test/upstream"), BOTH, None);
    let t = "rootCAs = [\"ca.crt\"]\npeerCertURI = \"spiffe://TEST/upstream\"\n";
    let p = start(&up.url(), t, &[ca_file(&ca)], "");
    assert!(ok(&p).starts_with("conn=1 "));
    drop(p);
    let t = "rootCAs = [\"ca.crt\"]\npeerCertURI = \"spiffe://test/other\"\n";
    let p = start(&up.url(), t, &[ca_file(&ca)], "");
    refused(&p, &up.url(), "no matching SAN");
    drop(p);
    // With insecureSkipVerify the chain is still checked, as Traefik does.
    let other = Ca::new("other CA");
    let t = "rootCAs = [\"ca.crt\"]\ninsecureSkipVerify = true\npeerCertURI = \"spiffe://test/upstream\"\n";
    let p = start(&up.url(), t, &[ca_file(&other)], "");
    refused(&p, &up.url(), "UnknownIssuer");
}
