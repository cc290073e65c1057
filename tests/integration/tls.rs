//! TLS termination, SNI routing and TCP routes against the real binary, with
//! rcgen-made certificates and a rustls client (`tls/pki.rs`).

mod close_notify;
pub mod openssl;
pub mod pki;
mod resumption;
mod tcp;
mod termination;
mod wire;

use crate::common::*;
use pki::{Ca, Leaf};

/// An HTTPS site: the CA and three leaves written into the provider directory
/// (`exact.crt` for a.test, `wild.crt` for *.wild.test, `default.crt`).
pub struct Site {
    pub ca: Ca,
    pub exact: Leaf,
    pub wild: Leaf,
    pub default: Leaf,
}

impl Site {
    pub fn new() -> Site {
        let ca = Ca::new("proxyd test CA");
        Site {
            exact: ca.leaf(&["a.test"]),
            wild: ca.leaf(&["*.wild.test"]),
            default: ca.leaf(&["default.test"]),
            ca,
        }
    }

    /// The PEM files, to go next to the dynamic files (the provider reads only
    /// `*.toml`; relative `certFile` paths resolve against the dynamic file).
    pub fn files(&self) -> Vec<(String, String)> {
        let mut out = vec![("ca.crt".to_string(), self.ca.pem())];
        for (name, leaf) in [
            ("exact", &self.exact),
            ("wild", &self.wild),
            ("default", &self.default),
        ] {
            out.push((format!("{name}.crt"), leaf.cert_pem.clone()));
            out.push((format!("{name}.key"), leaf.key_pem.clone()));
        }
        out
    }
}

/// `[[tls.certificates]]` for the exact and wildcard certs plus, if asked, the
/// default certificate of the default store.
pub fn certs_toml(with_default: bool) -> String {
    let mut s = String::from(
        "[[tls.certificates]]\ncertFile = \"exact.crt\"\nkeyFile = \"exact.key\"\n\
         [[tls.certificates]]\ncertFile = \"wild.crt\"\nkeyFile = \"wild.key\"\n",
    );
    if with_default {
        s.push_str(
            "[tls.stores.default.defaultCertificate]\ncertFile = \"default.crt\"\nkeyFile = \"default.key\"\n",
        );
    }
    s
}

/// Starts proxyd with `dynamic` and the site's files in the provider directory.
pub fn start_with(
    site: &Site,
    dynamic: &str,
    edit: impl FnOnce(ProxyConfig) -> ProxyConfig,
) -> Proxy {
    let mut cfg = ProxyConfig::new(dynamic);
    cfg.dynamic.extend(site.files());
    Proxy::start(&edit(cfg))
}
