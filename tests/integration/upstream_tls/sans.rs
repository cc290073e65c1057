//! `peerCertSANs`: the upstream's certificate must match one entry, a `URI`
//! SAN or a `DNSName` (name or IP address) it is valid for; the chain is
//! checked even with `insecureSkipVerify`; a bad entry is refused at load.

use std::time::Duration;

use super::server::{BOTH, TlsUpstream};
use super::{ca_file, leaf_with, ok, refused, start};
use crate::common::config::router;
use crate::common::*;
use crate::tls::pki::Ca;

/// Transport lines: the test CA, and `sans` as the `peerCertSANs` list.
fn transport(sans: &[(&str, &str)]) -> String {
    let list: Vec<String> = (sans.iter())
        .map(|(t, v)| format!("{{ type = \"{t}\", value = \"{v}\" }}"))
        .collect();
    format!(
        "rootCAs = [\"ca.crt\"]\npeerCertSANs = [{}]\n",
        list.join(", ")
    )
}

#[test]
fn peer_cert_sans_need_one_matching_entry() {
    let ca = Ca::new("upstream CA");
    let leaf = leaf_with(
        &ca,
        &["127.0.0.1", "*.backend.test"],
        "spiffe://test/upstream",
    );
    let up = TlsUpstream::start(&leaf, BOTH, None);
    let files = [ca_file(&ca)];
    for (sans, why) in [
        (
            &[("DNSName", "api.backend.test")][..],
            "a DNS name (wildcard SAN)",
        ),
        (&[("DNSName", "127.0.0.1")][..], "an IP SAN"),
        (
            &[("DNSName", "other.test"), ("URI", "SPIFFE://test/upstream")][..],
            "the second entry, a URI ignoring case",
        ),
    ] {
        let p = start(&up.url(), &transport(sans), &files, "");
        assert!(ok(&p).contains("version="), "{why}");
    }
    let none = [("DNSName", "backend.test"), ("URI", "spiffe://test/other")];
    let p = start(&up.url(), &transport(&none), &files, "");
    refused(&p, &up.url(), "no matching SAN");
    drop(p);
    // With insecureSkipVerify the chain is still checked, as Traefik does.
    let other = Ca::new("other CA");
    let t = format!(
        "insecureSkipVerify = true\n{}",
        transport(&[("DNSName", "api.backend.test")])
    );
    let p = start(&up.url(), &t, &[ca_file(&other)], "");
    refused(&p, &up.url(), "UnknownIssuer");
}

#[test]
fn bad_peer_cert_sans_are_refused_at_load() {
    let dynamic = format!(
        "{}[http.services.app.loadBalancer]\nserversTransport = \"t\"\n\
         [[http.services.app.loadBalancer.servers]]\nurl = \"https://127.0.0.1:1\"\n\
         [http.serversTransports.t]\npeerCertSANs = [{{ type = \"IP\", value = \"10.0.0.1\" }}, \
         {{ type = \"DNSName\", value = \"not a name\" }}, {{ type = \"URI\" }}]\n",
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
    for key in ["[0].type", "[1].value", "[2].value"] {
        let key = format!("http.serversTransports.t.peerCertSANs{key}");
        assert!(err.contains(&key), "{key}: {err}");
    }
    assert!(err.contains("expected \"DNSName\" or \"URI\""), "{err}");
}
