//! Tests of the TLS keys of `http.serversTransports`: each bad value named by
//! its key, and the compiled settings reaching the servers.

use super::tests_dynamic::*;
use super::*;

fn transport(keys: &str) -> String {
    format!(
        "[http.services.s.loadBalancer]\nserversTransport = \"t\"\n\
         servers = [{{ url = \"https://app.internal:8443\" }}, {{ url = \"http://127.0.0.1:1\" }}]\n\
         [http.serversTransports.t]\n{keys}"
    )
}

#[test]
fn bad_tls_keys_are_named() {
    let text = transport(
        "cipherSuites = [\"TLS_NOPE\"]\nminVersion = \"VersionTLS13\"\nmaxVersion = \"VersionTLS99\"\n\
         certificates = [{ certFile = \"c.pem\" }]\nrootCAs = [\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"]\n",
    );
    let (_, errors) = errs(&[("t.toml", &text)]);
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http.serversTransports.t.maxVersion",
            "http.serversTransports.t.certificates[0]",
        ],
        "{errors:?}"
    );
    let text = transport(
        "cipherSuites = [\"TLS_NOPE\"]\nminVersion = \"VersionTLS13\"\nmaxVersion = \"VersionTLS12\"\n",
    );
    let (_, errors) = errs(&[("t.toml", &text)]);
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["http.serversTransports.t.minVersion"], "{errors:?}");
    let (_, errors) = errs(&[("t.toml", &transport("cipherSuites = [\"TLS_NOPE\"]\n"))]);
    assert_eq!(errors[0].key, "http.serversTransports.t.cipherSuites");
    assert!(errors[0].reason.contains("TLS_NOPE"), "{errors:?}");
}

#[test]
fn server_name_and_tls_reach_the_servers() {
    let text = transport(
        "insecureSkipVerify = true\nserverName = \"backend.test\"\ndisableHTTP2 = true\n",
    );
    let s = setup(&[("t.toml", &text)]);
    let snap = load_snapshot(&s.st, 1).unwrap_or_else(|e| panic!("{e}"));
    let ServiceKind::LoadBalancer(lb) = &snap.services[0].kind else {
        panic!("not a load balancer");
    };
    let tls = lb.servers[0].tls.as_ref().expect("https server has TLS");
    let sent = match &tls.name {
        rustls::pki_types::ServerName::DnsName(n) => n.as_ref(),
        other => panic!("{other:?}"),
    };
    assert_eq!(sent, "backend.test");
    assert_eq!(tls.config.alpn_protocols, [b"http/1.1".to_vec()]);
    assert!(lb.servers[1].tls.is_none(), "http server");
    // The same settings compiled again: the very same config (its sessions).
    let again = load_snapshot(&s.st, 2).unwrap();
    let ServiceKind::LoadBalancer(lb2) = &again.services[0].kind else {
        panic!("not a load balancer");
    };
    let tls2 = lb2.servers[0].tls.as_ref().unwrap();
    assert!(std::sync::Arc::ptr_eq(&tls.config, &tls2.config));
    assert_eq!(tls.id, tls2.id);
}

#[test]
fn http2_is_offered_unless_disabled() {
    let s = setup(&[("t.toml", &transport("insecureSkipVerify = true\n"))]);
    let snap = load_snapshot(&s.st, 1).unwrap_or_else(|e| panic!("{e}"));
    let ServiceKind::LoadBalancer(lb) = &snap.services[0].kind else {
        panic!("not a load balancer");
    };
    let tls = lb.servers[0].tls.as_ref().expect("https server has TLS");
    let offered = [b"h2".to_vec(), b"http/1.1".to_vec()];
    assert_eq!(tls.config.alpn_protocols, offered);
    // Health probes speak HTTP/1.1 only.
    let probe = transport_tls::only(tls, transport_tls::ALPN_H1);
    assert_eq!(probe.config.alpn_protocols, [b"http/1.1".to_vec()]);
    assert_eq!(probe.id, tls.id);
}
