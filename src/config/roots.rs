//! Trust anchors for the TLS clients configured here (upstream transports and
//! what compiles through them, the KV stores): the system's, loaded once per
//! process as Go loads them (`rustls-native-certs`: `SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, then the distribution's bundle), or every certificate of a
//! PEM bundle the configuration gives. One loader, so both kinds of client
//! read a CA file the same way; what a caller does beyond (an upstream also
//! accepts a server presenting one of these certificates itself) stays with it.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why a PEM bundle gave no trust anchors. The texts are part of config errors.
#[derive(Debug, thiserror::Error)]
pub enum PemRootsError {
    #[error("bad PEM: {0}")]
    Pem(rustls::pki_types::pem::Error),
    #[error("bad CA certificate: {0}")]
    Ca(rustls::Error),
    #[error("no certificate in it")]
    Empty,
}

/// Adds every certificate of `pem` to `store`, in order, and returns them.
pub fn add_pem(
    store: &mut RootCertStore,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, PemRootsError> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(PemRootsError::Pem)?;
        store.add(cert.clone()).map_err(PemRootsError::Ca)?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(PemRootsError::Empty);
    }
    Ok(certs)
}

/// The system's roots, loaded once per process.
pub fn system() -> Result<Arc<RootCertStore>, String> {
    static CELL: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    let load = || {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            log::warn!("system CA certificates: {e}");
        }
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err("no system CA certificates found (install ca-certificates, set SSL_CERT_FILE, or give rootCAs)".into());
        }
        Ok(Arc::new(roots))
    };
    CELL.get_or_init(load).clone()
}
