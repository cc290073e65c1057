//! Middlewares that need more than the request head, on HTTP/2 streams:
//! passTLSClientCert sees the certificate the client sent in the TLS
//! handshake of its HTTP/2 connection; forwardAuth with `forwardBody` reads
//! the stream's body for the auth server and still sends it upstream.

use base64::Engine;

use super::curl;
use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::middlewares_pass_tls_client_cert::{CERT, client_cert, dynamic};
use crate::tls::{Site, start_with};

/// `der` as a PEM block labelled `label`.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[test]
fn pass_tls_client_cert_sees_the_client_certificate_over_http2() {
    let site = Site::new();
    let up = Upstream::echo("up");
    let p = start_with(&site, &dynamic(&up), |c| c);
    let (leaf, key) = client_cert(&site);
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("client.crt"), dir.path().join("client.key"));
    std::fs::write(&cert_file, pem("CERTIFICATE", &leaf)).unwrap();
    std::fs::write(&key_file, pem("PRIVATE KEY", key.secret_der())).unwrap();
    let port = p.addr().port();
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = format!("https://a.test:{port}/pem");
    let (out, err) = curl(&[
        "--http2",
        "-k",
        "--resolve",
        &resolve,
        "--cert",
        cert_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
        "-H",
        &format!("{CERT}: forged"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        &url,
    ]);
    assert_eq!(out, "2 200", "{err}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&leaf);
    assert_eq!(up.only_request().headers_named(CERT), [b64]);
}

#[test]
fn forward_auth_forward_body_sends_the_stream_body_to_both() {
    let auth = Upstream::echo("auth");
    let app = Upstream::echo("app");
    let mut cfg = router("r", "PathPrefix(`/`)", "app");
    cfg.push_str(&format!(
        "middlewares = [\"fa\"]\n[http.middlewares.fa.forwardAuth]\n\
         address = \"{}\"\nforwardBody = true\nmaxBodySize = 100\n",
        auth.url()
    ));
    cfg.push_str(&lb_service("app", &[app.url()]));
    let p = Proxy::start(&ProxyConfig::new(&cfg));
    let url = format!("http://{}/p", p.addr());
    let post = |body: &str| {
        curl(&[
            "--http2-prior-knowledge",
            "--data-binary",
            body,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            &url,
        ])
    };
    let (out, err) = post("hello body");
    assert_eq!(out, "2 200", "{err}");
    assert_eq!(auth.only_request().body, b"hello body");
    assert_eq!(app.only_request().body, b"hello body");
    // Over maxBodySize: 401, as Traefik answers, and the app sees nothing more.
    let (out, err) = post(&"x".repeat(101));
    assert_eq!(out, "2 401", "{err}");
    assert_eq!(app.requests().len(), 1);
}
