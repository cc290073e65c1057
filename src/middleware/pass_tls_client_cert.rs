//! `passTLSClientCert` as Traefik v3 runs it, on connections that presented a
//! client certificate (mTLS); on others it does nothing.
//!
//! - `pem`: `X-Forwarded-Tls-Client-Cert` is set to each certificate's PEM
//!   without its BEGIN/END lines and newlines (its DER in standard base64),
//!   joined by `,`, leaf first.
//! - `info`: `X-Forwarded-Tls-Client-Cert-Info` is set to the URL query
//!   escape (Go's `url.QueryEscape`) of, per certificate joined by `,`, the
//!   chosen fields joined by `;`, each only when non-empty, in this order:
//!   `Subject="..."`, `Issuer="..."`, `SerialNumber="<decimal>"`,
//!   `NB="<unix>"`, `NA="<unix>"`, `SAN="<dns,...,email,...,ip,...,uri,...>"`.
//!   A name lists `DC=`, `C=`, `ST=`, `L=`, `O=`, `OU=` (subject only) for
//!   each value in order, then `SN=` and `CN=` (the last value), joined by `,`.
//!
//! Client-sent copies of these headers are Traefik's `X-Forwarded-*` and go
//! only from trusted peers (`forwardedHeaders`); a set value replaces them.

use super::{Edits, Flow, HeaderOp, RequestInfo};

pub use crate::net::client_certs::ClientCerts;
use crate::net::client_certs::{Dn, Facts};

pub const CERT_HEADER: &[u8] = b"X-Forwarded-Tls-Client-Cert";
pub const INFO_HEADER: &[u8] = b"X-Forwarded-Tls-Client-Cert-Info";

#[derive(Debug)]
pub struct PassTlsClientCert {
    pub pem: bool,
    pub info: Option<InfoOptions>,
}

/// Which facts `info` reports.
#[derive(Debug, Default)]
pub struct InfoOptions {
    pub not_after: bool,
    pub not_before: bool,
    pub sans: bool,
    pub serial_number: bool,
    pub subject: Option<DnOptions>,
    pub issuer: Option<DnOptions>,
}

/// Which parts of a name `info` reports (the issuer has no `organizationalUnit`).
#[derive(Debug, Default)]
pub struct DnOptions {
    pub country: bool,
    pub province: bool,
    pub locality: bool,
    pub organization: bool,
    pub organizational_unit: bool,
    pub common_name: bool,
    pub serial_number: bool,
    pub domain_component: bool,
}

impl PassTlsClientCert {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        let Some(certs) = req.client_certs.filter(|c| !c.chain.is_empty()) else {
            return Flow::Next;
        };
        if self.pem {
            edits.request_header_built(HeaderOp::Set, CERT_HEADER, |out| pem(certs, out));
        }
        if let Some(info) = &self.info {
            edits.request_header_built(HeaderOp::Set, INFO_HEADER, |out| {
                for (i, facts) in certs.facts().iter().enumerate() {
                    if i > 0 {
                        escape(out, b",");
                    }
                    write_info(info, facts, out);
                }
            });
        }
        Flow::Next
    }
}

/// The chain's DER in base64, `,` between certificates.
fn pem(certs: &ClientCerts, out: &mut Vec<u8>) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    for (i, der) in certs.chain.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let start = out.len();
        out.resize(start + base64::encoded_len(der.len(), true).unwrap_or(0), 0);
        let n = b64.encode_slice(der, &mut out[start..]).unwrap_or(0);
        out.truncate(start + n);
    }
}

/// One certificate's fields, escaped, `;` between them.
fn write_info(info: &InfoOptions, f: &Facts, out: &mut Vec<u8>) {
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, key: &str, write: &dyn Fn(&mut Vec<u8>)| {
        let start = out.len();
        escape(out, if first { "" } else { ";" }.as_bytes());
        escape(out, key.as_bytes());
        escape(out, b"=\"");
        let value_at = out.len();
        write(out);
        if out.len() == value_at {
            out.truncate(start);
            return;
        }
        escape(out, b"\"");
        first = false;
    };
    if let Some(o) = &info.subject {
        field(out, "Subject", &|out| write_dn(o, &f.subject, out));
    }
    if let Some(o) = &info.issuer {
        field(out, "Issuer", &|out| write_dn(o, &f.issuer, out));
    }
    if info.serial_number {
        field(out, "SerialNumber", &|out| escape(out, f.serial.as_bytes()));
    }
    // Go formats the Unix time as unsigned.
    let unix =
        |out: &mut Vec<u8>, t: i64| escape(out, itoa::Buffer::new().format(t as u64).as_bytes());
    if info.not_before {
        field(out, "NB", &|out| unix(out, f.not_before));
    }
    if info.not_after {
        field(out, "NA", &|out| unix(out, f.not_after));
    }
    if info.sans {
        field(out, "SAN", &|out| {
            for (i, san) in f.sans.iter().enumerate() {
                escape(out, if i > 0 { &b","[..] } else { b"" });
                escape(out, san.as_bytes());
            }
        });
    }
}

/// `K=v` parts joined by `,` in Traefik's order; empty values are skipped
/// (domain components are not, as in Traefik).
fn write_dn(o: &DnOptions, dn: &Dn, out: &mut Vec<u8>) {
    let mut first = true;
    let mut part = |out: &mut Vec<u8>, key: &str, value: &str, keep_empty: bool| {
        if value.is_empty() && !keep_empty {
            return;
        }
        escape(out, if first { "" } else { "," }.as_bytes());
        escape(out, key.as_bytes());
        escape(out, b"=");
        escape(out, value.as_bytes());
        first = false;
    };
    let lists: [(bool, &str, &[String]); 6] = [
        (o.domain_component, "DC", &dn.dc),
        (o.country, "C", &dn.country),
        (o.province, "ST", &dn.province),
        (o.locality, "L", &dn.locality),
        (o.organization, "O", &dn.organization),
        (o.organizational_unit, "OU", &dn.organizational_unit),
    ];
    for (on, key, values) in lists {
        for v in values.iter().filter(|_| on) {
            part(out, key, v, key == "DC");
        }
    }
    if o.serial_number {
        part(out, "SN", &dn.serial_number, false);
    }
    if o.common_name {
        part(out, "CN", &dn.common_name, false);
    }
}

/// Go's `url.QueryEscape`: unreserved bytes as they are, space as `+`, the
/// rest as `%XX`.
fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
}

#[cfg(test)]
mod tests;
