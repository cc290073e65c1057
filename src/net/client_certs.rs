//! A TLS connection's client certificate chain, as `passTLSClientCert` needs
//! it: the DER of each certificate (as the client sent them, leaf first),
//! taken once per connection, and the facts Traefik reports about each
//! (subject, issuer, serial, validity, SANs), parsed on first use and kept
//! with the connection, so a request only formats them.

use std::cell::OnceCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    OID_DOMAIN_COMPONENT, OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_LOCALITY_NAME,
    OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT, OID_X509_SERIALNUMBER,
    OID_X509_STATE_OR_PROVINCE_NAME,
};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

#[derive(Debug)]
pub struct ClientCerts {
    pub chain: Vec<CertificateDer<'static>>,
    facts: OnceCell<Vec<Facts>>,
}

/// A distinguished name as Go's `pkix.Name` holds it: the list attributes in
/// order, the single ones as their last value, domain components apart.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dn {
    pub dc: Vec<String>,
    pub country: Vec<String>,
    pub province: Vec<String>,
    pub locality: Vec<String>,
    pub organization: Vec<String>,
    pub organizational_unit: Vec<String>,
    pub serial_number: String,
    pub common_name: String,
}

/// What Traefik reports about one certificate.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub subject: Dn,
    pub issuer: Dn,
    /// Decimal, as Go's `big.Int.String`; empty when unparsable.
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names, then e-mail addresses, then IPs, then URIs (Go's order).
    pub sans: Vec<String>,
}

impl ClientCerts {
    pub fn new(chain: Vec<CertificateDer<'static>>) -> ClientCerts {
        ClientCerts {
            chain,
            facts: OnceCell::new(),
        }
    }

    /// Each certificate's facts, parsed the first time they are asked for. A
    /// certificate x509-parser cannot read reports nothing.
    pub fn facts(&self) -> &[Facts] {
        self.facts.get_or_init(|| {
            self.chain
                .iter()
                .map(|der| match X509Certificate::from_der(der) {
                    Ok((_, cert)) => facts(&cert),
                    Err(_) => Facts::default(),
                })
                .collect()
        })
    }
}

fn facts(cert: &X509Certificate<'_>) -> Facts {
    let validity = cert.validity();
    Facts {
        subject: dn(cert.subject()),
        issuer: dn(cert.issuer()),
        serial: decimal(cert.raw_serial()),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        sans: sans(cert),
    }
}

fn dn(name: &X509Name<'_>) -> Dn {
    let mut d = Dn::default();
    for atv in name.iter_rdn().flat_map(|rdn| rdn.iter()) {
        // Go keeps only string values.
        let Ok(value) = atv.as_str() else { continue };
        let value = value.to_string();
        let t = atv.attr_type();
        let list = if *t == OID_DOMAIN_COMPONENT {
            &mut d.dc
        } else if *t == OID_X509_COUNTRY_NAME {
            &mut d.country
        } else if *t == OID_X509_STATE_OR_PROVINCE_NAME {
            &mut d.province
        } else if *t == OID_X509_LOCALITY_NAME {
            &mut d.locality
        } else if *t == OID_X509_ORGANIZATION_NAME {
            &mut d.organization
        } else if *t == OID_X509_ORGANIZATIONAL_UNIT {
            &mut d.organizational_unit
        } else {
            if *t == OID_X509_COMMON_NAME {
                d.common_name = value;
            } else if *t == OID_X509_SERIALNUMBER {
                d.serial_number = value;
            }
            continue;
        };
        list.push(value);
    }
    d
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let names = &ext.value.general_names;
    let mut out = Vec::new();
    let mut pick = |f: &dyn Fn(&GeneralName<'_>) -> Option<String>| {
        out.extend(names.iter().filter_map(f));
    };
    pick(&|n| matches!(n, GeneralName::DNSName(_)).then(|| text(n)));
    pick(&|n| matches!(n, GeneralName::RFC822Name(_)).then(|| text(n)));
    pick(&|n| match n {
        GeneralName::IPAddress(b) => ip(b),
        _ => None,
    });
    pick(&|n| matches!(n, GeneralName::URI(_)).then(|| text(n)));
    out
}

fn text(n: &GeneralName<'_>) -> String {
    match n {
        GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => s.to_string(),
        _ => String::new(),
    }
}

/// An IP SAN as Go's `net.IP.String` writes it (an IPv4-mapped IPv6 address
/// as IPv4).
fn ip(bytes: &[u8]) -> Option<String> {
    let addr = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(addr.to_string())
}

/// The serial's DER integer content as an unsigned decimal number.
fn decimal(be: &[u8]) -> String {
    let mut n: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    let mut digits = Vec::new();
    while !n.is_empty() {
        // Divide the base-256 number by 10, keeping the remainder.
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
        let lead = n.iter().take_while(|&&b| b == 0).count();
        n.drain(..lead);
    }
    if digits.is_empty() {
        return if be.is_empty() {
            String::new()
        } else {
            "0".into()
        };
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_decimal() {
        assert_eq!(decimal(&[0x01]), "1");
        assert_eq!(decimal(&[0x00]), "0");
        assert_eq!(decimal(&[0x00, 0xff]), "255");
        assert_eq!(decimal(&[0x01, 0x00, 0x00]), "65536");
        // Traefik's test certificate serial.
        let raw = [
            0x54, 0x58, 0xd0, 0xe0, 0x64, 0xfc, 0xbe, 0x52, 0x7b, 0x42, 0x19, 0x46, 0x3d, 0xc2,
            0x32, 0x58, 0xda, 0xc0, 0xbd, 0x94,
        ];
        assert_eq!(
            decimal(&raw),
            "481535886039632329873080491016862977516759989652"
        );
    }

    #[test]
    fn ips_as_go_writes_them() {
        assert_eq!(ip(&[10, 0, 0, 1]).unwrap(), "10.0.0.1");
        let mut mapped = [0u8; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 10, 0, 0, 1]);
        assert_eq!(ip(&mapped).unwrap(), "10.0.0.1");
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip(&v6.octets()).unwrap(), "2001:db8::1");
    }
}
