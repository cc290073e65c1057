//! passTLSClientCert over real mTLS: rcgen makes a client certificate with a
//! known subject, serial, validity and SANs, signed by the site's CA; the
//! upstream sees `X-Forwarded-Tls-Client-Cert` (the chain's DER in base64,
//! `,` between) and `X-Forwarded-Tls-Client-Cert-Info` (Traefik's escaped
//! info string). Without a client certificate neither header is set, and a
//! client's own copies do not pass (untrusted peer).

use std::io::{Read, Write};

use base64::Engine;
use rcgen::{CertificateParams, DnType, KeyPair, SanType, SerialNumber, date_time_ymd};
use rustls::pki_types::CertificateDer;

use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::tls::pki::{Opts, TlsClient, client_config, connect};
use crate::tls::{Site, certs_toml, start_with};

pub(crate) const CERT: &str = "X-Forwarded-Tls-Client-Cert";
const INFO: &str = "X-Forwarded-Tls-Client-Cert-Info";

/// TLS routers `/pem` (pem = true), `/info` (every info option) and `/none`
/// (the middleware with nothing asked) to `up`; client certificates are
/// verified when given, not required.
pub(crate) fn dynamic(up: &Upstream) -> String {
    let mut s = lb_service("s", &[up.url()]);
    for (name, def) in [
        (
            "pem",
            "[http.middlewares.pem.passTLSClientCert]\npem = true\n",
        ),
        (
            "info",
            "[http.middlewares.info.passTLSClientCert.info]\nnotAfter = true\nnotBefore = true\n\
             sans = true\nserialNumber = true\n\
             [http.middlewares.info.passTLSClientCert.info.subject]\ncountry = true\n\
             province = true\nlocality = true\norganization = true\norganizationalUnit = true\n\
             commonName = true\nserialNumber = true\ndomainComponent = true\n\
             [http.middlewares.info.passTLSClientCert.info.issuer]\ncommonName = true\n\
             organization = true\n",
        ),
        ("none", "[http.middlewares.none.passTLSClientCert]\n"),
    ] {
        s.push_str(&router(name, &format!("PathPrefix(`/{name}`)"), "s"));
        s.push_str(&format!(
            "middlewares = [\"{name}\"]\n[http.routers.{name}.tls]\n{def}"
        ));
    }
    s.push_str(&certs_toml(true));
    s.push_str(
        "[tls.options.default.clientAuth]\ncaFiles = [\"ca.crt\"]\n\
         clientAuthType = \"VerifyClientCertIfGiven\"\n",
    );
    s
}

/// A client certificate signed by the site's CA, with everything info reports.
pub(crate) fn client_cert(
    site: &Site,
) -> (
    CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let dn = &mut params.distinguished_name;
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::StateOrProvinceName, "Some-State");
    dn.push(DnType::OrganizationName, "Cheese");
    dn.push(DnType::OrganizationalUnitName, "Cheese Section");
    dn.push(DnType::CommonName, "client.test");
    params.subject_alt_names = vec![
        SanType::URI("spiffe://cheese/client".try_into().unwrap()),
        SanType::IpAddress("10.0.0.1".parse().unwrap()),
        SanType::Rfc822Name("client@cheese.org".try_into().unwrap()),
        SanType::DnsName("client.test".try_into().unwrap()),
    ];
    params.serial_number = Some(SerialNumber::from(vec![0x01, 0x02]));
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2040, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &site.ca.issuer).unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.der().clone(), key_der)
}

/// `GET <path>` over `s` (with `extra` header lines); the upstream's view.
fn get(s: &mut TlsClient, path: &str, extra: &str) -> String {
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: a.test\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

/// Go's `url.QueryUnescape` (enough for these values).
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn pem_and_info_reach_the_upstream() {
    let site = Site::new();
    let up = Upstream::echo("up");
    let p = start_with(&site, &dynamic(&up), |c| c);
    let (leaf, key) = client_cert(&site);
    let ca = site.ca.issuer.der().clone();
    let mtls = || {
        client_config(Opts {
            client_cert: Some((vec![leaf.clone(), ca.clone()], key.clone_key())),
            ..Opts::default()
        })
    };
    let b64 = |d: &CertificateDer<'_>| base64::engine::general_purpose::STANDARD.encode(d);

    // A client's own header is replaced by the real one.
    get(
        &mut connect(p.addr(), "a.test", mtls()).unwrap(),
        "/pem",
        &format!("{CERT}: forged\r\n"),
    );
    let seen = up.only_request();
    assert_eq!(
        seen.headers_named(CERT),
        [format!("{},{}", b64(&leaf), b64(&ca))]
    );
    assert!(!seen.has_header(INFO));

    get(
        &mut connect(p.addr(), "a.test", mtls()).unwrap(),
        "/info",
        "",
    );
    let seen = up.requests().pop().unwrap();
    assert!(!seen.has_header(CERT));
    let info = seen.headers_named(INFO);
    assert_eq!(info.len(), 1, "{info:?}");
    assert!(
        !info[0].contains(['"', ' ', ',', ';']),
        "escaped: {}",
        info[0]
    );
    let leaf_info = "Subject=\"C=FR,ST=Some-State,O=Cheese,OU=Cheese Section,CN=client.test\";\
                     Issuer=\"CN=proxyd test CA\";SerialNumber=\"258\";NB=\"1577836800\";\
                     NA=\"2208988800\";\
                     SAN=\"client.test,client@cheese.org,10.0.0.1,spiffe://cheese/client\"";
    let text = unescape(info[0]);
    let (first, second) = text.split_once("\",S").expect("two certificates");
    assert_eq!(format!("{first}\""), leaf_info);
    assert!(
        second.starts_with(
            "ubject=\"CN=proxyd test CA\";Issuer=\"CN=proxyd test CA\";SerialNumber=\""
        ),
        "{second}"
    );

    get(
        &mut connect(p.addr(), "a.test", mtls()).unwrap(),
        "/none",
        "",
    );
    let seen = up.requests().pop().unwrap();
    assert!(
        !seen.has_header(CERT) && !seen.has_header(INFO),
        "{:?}",
        seen.headers
    );
}

#[test]
fn no_client_certificate_no_headers() {
    let site = Site::new();
    let up = Upstream::echo("up");
    let p = start_with(&site, &dynamic(&up), |c| c);
    for path in ["/pem", "/info"] {
        let mut s = connect(p.addr(), "a.test", client_config(Opts::default())).unwrap();
        get(
            &mut s,
            path,
            &format!("{CERT}: forged\r\n{INFO}: forged\r\n"),
        );
        let seen = up.requests().pop().unwrap();
        assert!(
            !seen.has_header(CERT) && !seen.has_header(INFO),
            "{path}: {:?}",
            seen.headers
        );
    }
    assert_eq!(up.requests().len(), 2);
}
