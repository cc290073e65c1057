//! Terminated HTTPS: the certificate per SNI (exact, wildcard, default), sniStrict,
//! ALPN, minVersion, mTLS, X-Forwarded-Proto, and TLS-only routers.

use std::io::{Read, Write};

use super::pki::{Opts, client_config, connect, served_cert};
use super::{Site, certs_toml, start_with};
use crate::common::config::router;
use crate::common::*;

/// A whoami router served over TLS for every host.
fn tls_whoami(extra: &str) -> String {
    format!(
        "{}{extra}[http.routers.r.tls]\n",
        router("r", "PathPrefix(`/`)", "whoami@internal")
    )
}

/// The raw response, or "" when the server already closed (a refused handshake can
/// surface as a broken pipe on the first write under TLS 1.3).
fn get_over(s: &mut super::pki::TlsClient, host: &str) -> String {
    let sent = write!(
        s,
        "GET /who HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    if sent.is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn certificate_is_chosen_by_sni() {
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let any = || client_config(Opts::default());
    let s = connect(p.addr(), "a.test", any()).unwrap();
    assert_eq!(served_cert(&s), site.exact.der, "exact name");
    let s = connect(p.addr(), "x.wild.test", any()).unwrap();
    assert_eq!(served_cert(&s), site.wild.der, "wildcard");
    let s = connect(p.addr(), "a.b.wild.test", any()).unwrap();
    assert_eq!(
        served_cert(&s),
        site.default.der,
        "a wildcard covers one label only"
    );
    let s = connect(p.addr(), "other.test", any()).unwrap();
    assert_eq!(served_cert(&s), site.default.der, "no match: the default");
    // And the certificate verifies against the CA, for a real client.
    let verified = client_config(Opts {
        roots: Some(site.ca.roots()),
        ..Opts::default()
    });
    let mut s = connect(p.addr(), "a.test", verified).unwrap();
    let resp = get_over(&mut s, "a.test");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}

#[test]
fn without_a_default_a_self_signed_one_is_generated() {
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", tls_whoami(""), certs_toml(false)),
        |c| c,
    );
    let s = connect(p.addr(), "unknown.test", client_config(Opts::default())).unwrap();
    let cert = served_cert(&s);
    assert_ne!(cert, site.exact.der);
    assert_ne!(cert, site.default.der);
}

#[test]
fn sni_strict_refuses_unknown_names() {
    let site = Site::new();
    let opts = "[tls.options.default]\nsniStrict = true\n";
    let p = start_with(
        &site,
        &format!("{}{}{opts}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let any = || client_config(Opts::default());
    assert!(connect(p.addr(), "a.test", any()).is_ok());
    let err = connect(p.addr(), "other.test", any()).expect_err("refused");
    assert!(
        err.to_string().contains("Alert") || err.to_string().contains("alert"),
        "{err}"
    );
}

#[test]
fn alpn_is_negotiated() {
    let site = Site::new();
    let opts = "[tls.options.default]\nalpnProtocols = [\"h2\", \"http/1.1\"]\n";
    let p = start_with(
        &site,
        &format!("{}{}{opts}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let cfg = client_config(Opts {
        alpn: vec!["foo", "http/1.1"],
        ..Opts::default()
    });
    let s = connect(p.addr(), "a.test", cfg).unwrap();
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

/// The server's suite order wins, as in Go (Traefik): a client listing
/// AES-256-GCM-SHA384 first (rustls and OpenSSL clients do) gets AES-128-GCM, whose
/// SHA-256 key schedule is hardware-accelerated; on TLS 1.2 too.
#[test]
fn server_suite_order_prefers_aes_128_gcm() {
    use rustls::CipherSuite::{
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS13_AES_128_GCM_SHA256,
    };
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let suite = |tls12_only| {
        let cfg = client_config(Opts {
            tls12_only,
            ..Opts::default()
        });
        let s = connect(p.addr(), "a.test", cfg).unwrap();
        s.conn.negotiated_cipher_suite().unwrap().suite()
    };
    assert_eq!(suite(false), TLS13_AES_128_GCM_SHA256);
    let tls12 = suite(true);
    assert!(
        [
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        ]
        .contains(&tls12),
        "{tls12:?}"
    );
}

#[test]
fn min_version_is_enforced() {
    let site = Site::new();
    let opts = "[tls.options.default]\nminVersion = \"VersionTLS13\"\n";
    let p = start_with(
        &site,
        &format!("{}{}{opts}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let old = client_config(Opts {
        tls12_only: true,
        ..Opts::default()
    });
    assert!(connect(p.addr(), "a.test", old).is_err(), "TLS 1.2 refused");
    let s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    assert_eq!(
        s.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

#[test]
fn mutual_tls_needs_a_good_client_certificate() {
    let site = Site::new();
    let opts = "[tls.options.default.clientAuth]\ncaFiles = [\"ca.crt\"]\n\
                clientAuthType = \"RequireAndVerifyClientCert\"\n";
    let p = start_with(
        &site,
        &format!("{}{}{opts}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let client = site.ca.leaf(&["client.test"]);
    let good = client_config(Opts {
        client_cert: Some((vec![client.der.clone()], client.key_der())),
        ..Opts::default()
    });
    let mut s = connect(p.addr(), "a.test", good).unwrap();
    let resp = get_over(&mut s, "a.test");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    // Without a certificate: TLS 1.3 reports the refusal on the first read.
    let refused = connect(p.addr(), "a.test", client_config(Opts::default()))
        .map(|mut s| get_over(&mut s, "a.test"));
    assert!(
        !matches!(&refused, Ok(r) if r.starts_with("HTTP/1.1")),
        "{refused:?}"
    );
    // A certificate from another CA is refused too.
    let stranger = super::pki::Ca::new("other").leaf(&["client.test"]);
    let bad = client_config(Opts {
        client_cert: Some((vec![stranger.der.clone()], stranger.key_der())),
        ..Opts::default()
    });
    let refused = connect(p.addr(), "a.test", bad).map(|mut s| get_over(&mut s, "a.test"));
    assert!(
        !matches!(&refused, Ok(r) if r.starts_with("HTTP/1.1")),
        "{refused:?}"
    );
}

#[test]
fn terminated_requests_are_forwarded_as_https() {
    let site = Site::new();
    let up = Upstream::echo("up");
    let dynamic = format!(
        "{}[http.routers.r.tls]\n{}{}",
        router("r", "Host(`a.test`)", "app"),
        config::lb_service("app", &[up.url()]),
        certs_toml(true)
    );
    let p = start_with(&site, &dynamic, |c| c);
    let mut s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    let resp = get_over(&mut s, "a.test");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(up.only_request().header("X-Forwarded-Proto"), Some("https"));
    // The TLS router is not served on plaintext.
    let plain = client::get(p.addr(), "a.test", "/who");
    assert_eq!(plain.status, 404);
}

#[test]
fn session_tickets_resume_on_every_worker() {
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", tls_whoami(""), certs_toml(true)),
        |mut c| {
            c.cores = Some(2);
            c
        },
    );
    // One client config: its session cache keeps the tickets between connections.
    let cfg = client_config(Opts::default());
    let mut first = connect(p.addr(), "a.test", cfg.clone()).unwrap();
    assert_eq!(
        first.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Full)
    );
    // Reading the response also takes in the NewSessionTicket messages.
    assert!(get_over(&mut first, "a.test").starts_with("HTTP/1.1 200"));
    // SO_REUSEPORT spreads these over both workers by source port; every one
    // resumes because the ticket keys are process-wide.
    for i in 0..12 {
        let mut s = connect(p.addr(), "a.test", cfg.clone()).unwrap();
        assert_eq!(
            s.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "connection {i}"
        );
        assert!(get_over(&mut s, "a.test").starts_with("HTTP/1.1 200"));
    }
}

/// Regression: TLS connections cannot park (their reads are not cancelled), and the
/// idle wait once read without the idleTimeout deadline, so an idle TLS keep-alive
/// connection was never closed.
#[test]
fn idle_tls_keep_alive_connection_is_closed_after_idle_timeout() {
    let site = Site::new();
    let p = start_with(
        &site,
        &format!("{}{}", tls_whoami(""), certs_toml(true)),
        |c| c.web(|ep| ep.idle_timeout = Some("1s".into())),
    );
    let mut s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
    write!(s, "GET /who HTTP/1.1\r\nHost: a.test\r\n\r\n").unwrap();
    let started = std::time::Instant::now();
    // Reading to the end returns once proxyd closes the idle connection.
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(8),
        "closed only after {waited:?}"
    );
}

/// Traefik's default `alpnProtocols` lists the ACME challenge protocol,
/// which proxyd does not serve: it must never agree to it (the client would
/// get HTTP where it expects a challenge answer). A client offering it first
/// negotiates http/1.1 and is served.
#[test]
fn acme_tls_alpn_is_never_negotiated() {
    let site = Site::new();
    let opts = "[tls.options.default]\nalpnProtocols = [\"h2\", \"http/1.1\", \"acme-tls/1\"]\n";
    let p = start_with(
        &site,
        &format!("{}{}{opts}", tls_whoami(""), certs_toml(true)),
        |c| c,
    );
    let cfg = client_config(Opts {
        alpn: vec!["acme-tls/1", "http/1.1"],
        ..Opts::default()
    });
    let mut s = connect(p.addr(), "a.test", cfg).unwrap();
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    use std::io::{Read, Write};
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(p.wait_log("not offered", std::time::Duration::from_secs(5)));
}
