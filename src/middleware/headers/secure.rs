//! The security half of Traefik's headers middleware (unrolled/secure as
//! Traefik configures it): `allowedHosts` refuses other hosts with 500
//! `Bad Host`, and the response gets the security headers. HSTS and HPKP go
//! only on requests that came over TLS (or that an `sslProxyHeaders` entry
//! marks as such) unless `forceSTSHeader`; `isDevelopment` turns the host
//! check, HSTS and HPKP off.

use super::Headers;
use crate::middleware::{Edits, HeaderOp, RequestInfo};

#[derive(Debug, Default)]
pub struct Secure {
    /// Empty: every host is allowed (also under `isDevelopment`).
    pub allowed_hosts: Vec<String>,
    /// Headers that may carry the host the check looks at, first non-empty wins.
    pub hosts_proxy_headers: Vec<String>,
    /// (header, value) pairs that mark a plaintext request as HTTPS.
    pub ssl_proxy_headers: Vec<(String, String)>,
    /// The `Strict-Transport-Security` value (`None`: not sent).
    pub sts: Option<String>,
    pub force_sts: bool,
    /// The `Public-Key-Pins` value (`None`: not sent).
    pub public_key: Option<String>,
    /// Headers sent on every response, in unrolled/secure's order.
    pub always: Vec<(&'static str, String)>,
}

impl Secure {
    /// Whether the request's host (or the first non-empty `hostsProxyHeaders`
    /// value) is one of `allowedHosts`, compared case-insensitively and whole,
    /// port included, as unrolled/secure does.
    pub fn host_allowed(&self, req: &RequestInfo<'_>, h: &Headers) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let allowed = |host: &[u8]| {
            self.allowed_hosts
                .iter()
                .any(|a| a.as_bytes().eq_ignore_ascii_case(host))
        };
        let mut decided = None;
        for name in &self.hosts_proxy_headers {
            h.with_request_header(req, name, &mut |v| {
                if !v.is_empty() {
                    decided = Some(allowed(v));
                }
            });
            if let Some(ok) = decided {
                return ok;
            }
        }
        allowed(h.host(req))
    }

    /// Records the security headers (set over the service's).
    pub fn response_headers(&self, req: &RequestInfo<'_>, h: &Headers, edits: &mut Edits) {
        let ssl = self.is_ssl(req, h);
        if let Some(sts) = &self.sts
            && (ssl || self.force_sts)
        {
            edits.response_header(HeaderOp::Set, b"Strict-Transport-Security", sts.as_bytes());
        }
        for (name, value) in &self.always {
            edits.response_header(HeaderOp::Set, name.as_bytes(), value.as_bytes());
        }
        if let Some(pins) = &self.public_key
            && ssl
        {
            edits.response_header(HeaderOp::Set, b"Public-Key-Pins", pins.as_bytes());
        }
    }

    /// TLS, or an `sslProxyHeaders` entry whose value equals the request's
    /// first value of that header (a missing header reads as "").
    fn is_ssl(&self, req: &RequestInfo<'_>, h: &Headers) -> bool {
        req.tls
            || self.ssl_proxy_headers.iter().any(|(name, want)| {
                let mut got_match = want.is_empty();
                h.with_request_header(req, name, &mut |v| got_match = v == want.as_bytes());
                got_match
            })
    }
}
