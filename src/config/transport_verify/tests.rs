use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::Verifier;

/// A self-signed certificate for `name`, marked CA:TRUE as `openssl req -x509`
/// makes it.
fn self_signed_ca(name: &str) -> CertificateDer<'static> {
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn verifier(roots: &[CertificateDer<'static>], insecure: bool) -> Verifier {
    let mut store = RootCertStore::empty();
    for c in roots {
        store.add(c.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Verifier::new(Arc::new(store), insecure, Vec::new(), provider)
        .unwrap()
        .with_pinned(roots.to_vec())
}

fn check(v: &Verifier, cert: &CertificateDer<'_>, name: &str) -> Result<(), rustls::Error> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    v.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
        .map(|_| ())
}

#[test]
fn a_self_signed_ca_certificate_given_in_root_cas_is_trusted_as_go_trusts_it() {
    let cert = self_signed_ca("backend.test");
    let v = verifier(std::slice::from_ref(&cert), false);
    check(&v, &cert, "backend.test").expect("the root itself, for its name");
    let wrong_name = check(&v, &cert, "other.test");
    assert!(wrong_name.is_err(), "the name is still checked");
}

#[test]
fn a_self_signed_certificate_not_in_root_cas_is_refused() {
    let trusted = self_signed_ca("backend.test");
    let other = self_signed_ca("backend.test");
    let v = verifier(&[trusted], false);
    assert!(check(&v, &other, "backend.test").is_err());
}
