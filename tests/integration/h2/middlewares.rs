//! Middlewares that need more than the request head, on HTTP/2 streams:
//! passTLSClientCert sees the certificate the client sent in the TLS
//! handshake of its HTTP/2 connection.

use base64::Engine;

use super::curl;
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
