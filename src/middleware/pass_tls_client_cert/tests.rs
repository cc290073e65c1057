//! The info string's format over hand-made facts (Traefik's test expectations
//! for field order, separators, skipped empty parts and escaping), and the
//! middleware doing nothing without a client certificate.

use super::*;
use crate::router::HeaderLookup;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn cheese() -> Facts {
    Facts {
        subject: Dn {
            dc: s(&["org", "cheese"]),
            country: s(&["FR", "US"]),
            province: s(&["Cheese org state"]),
            locality: s(&["TOULOUSE", "LYON"]),
            organization: s(&["Cheese", "Cheese 2"]),
            organizational_unit: s(&["Simple Signing Section"]),
            serial_number: String::new(),
            common_name: "*.cheese.com".into(),
        },
        issuer: Dn {
            country: s(&["FR"]),
            common_name: "Simple Signing CA 2".into(),
            ..Dn::default()
        },
        serial: "1".into(),
        not_before: 1544094616,
        not_after: 1607166616,
        sans: s(&[
            "*.cheese.org",
            "*.cheese.net",
            "test@cheese.org",
            "10.0.1.0",
            "10.0.1.2",
        ]),
    }
}

fn all() -> DnOptions {
    DnOptions {
        country: true,
        province: true,
        locality: true,
        organization: true,
        organizational_unit: true,
        common_name: true,
        serial_number: true,
        domain_component: true,
    }
}

/// Go's `url.QueryUnescape`, enough for these strings.
fn unescape(b: &[u8]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn all_info_in_traefiks_order() {
    let info = InfoOptions {
        not_after: true,
        not_before: true,
        sans: true,
        serial_number: true,
        subject: Some(all()),
        issuer: Some(DnOptions {
            organizational_unit: false,
            ..all()
        }),
    };
    let mut out = Vec::new();
    write_info(&info, &cheese(), &mut out);
    assert!(!out.contains(&b' ') && !out.contains(&b'"'), "escaped");
    assert_eq!(
        unescape(&out),
        "Subject=\"DC=org,DC=cheese,C=FR,C=US,ST=Cheese org state,L=TOULOUSE,L=LYON,O=Cheese,\
         O=Cheese 2,OU=Simple Signing Section,CN=*.cheese.com\";\
         Issuer=\"C=FR,CN=Simple Signing CA 2\";SerialNumber=\"1\";NB=\"1544094616\";\
         NA=\"1607166616\";SAN=\"*.cheese.org,*.cheese.net,test@cheese.org,10.0.1.0,10.0.1.2\""
    );
}

#[test]
fn empty_parts_and_unasked_fields_are_left_out() {
    let info = InfoOptions {
        not_after: true,
        subject: Some(DnOptions {
            organization: true,
            serial_number: true,
            ..DnOptions::default()
        }),
        issuer: Some(DnOptions {
            province: true,
            ..DnOptions::default()
        }),
        ..InfoOptions::default()
    };
    let mut out = Vec::new();
    write_info(&info, &cheese(), &mut out);
    // No issuer province, no subject serial: both left out, as in Traefik.
    assert_eq!(
        unescape(&out),
        "Subject=\"O=Cheese,O=Cheese 2\";NA=\"1607166616\""
    );
    let mut out = Vec::new();
    write_info(&InfoOptions::default(), &cheese(), &mut out);
    assert!(out.is_empty());
}

#[test]
fn query_escape_as_go() {
    let mut out = Vec::new();
    escape(&mut out, b"a-Z_0.~ \"=,;/@*");
    assert_eq!(out, b"a-Z_0.~+%22%3D%2C%3B%2F%40%2A");
}

struct NoHeaders;
impl HeaderLookup for NoHeaders {
    fn any_value(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        false
    }
}

#[test]
fn nothing_without_a_client_certificate() {
    let m = PassTlsClientCert {
        pem: true,
        info: Some(InfoOptions::default()),
    };
    let req = RequestInfo {
        method: b"GET",
        host: b"h",
        path: b"/",
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &NoHeaders,
        tls: true,
        forwarded_trusted: false,
        client_certs: None,
    };
    let mut e = Edits::default();
    assert_eq!(m.apply(&req, &mut e), Flow::Next);
    assert!(e.is_empty());
}
