//! `passTLSClientCert` definitions → [`PassTlsClientCert`]: the options as
//! Traefik has them; there is nothing to check (every key is a bool).

use crate::config::raw_middleware::{RawIssuerDn, RawPassTlsClientCert, RawSubjectDn};
use crate::middleware::{DnOptions, InfoOptions, Middleware, PassTlsClientCert};

pub fn compile(raw: &RawPassTlsClientCert) -> Middleware {
    let info = raw.info.as_ref().map(|i| InfoOptions {
        not_after: i.not_after,
        not_before: i.not_before,
        sans: i.sans,
        serial_number: i.serial_number,
        subject: i.subject.as_ref().map(subject),
        issuer: i.issuer.as_ref().map(issuer),
    });
    Middleware::PassTlsClientCert(PassTlsClientCert { pem: raw.pem, info })
}

fn subject(s: &RawSubjectDn) -> DnOptions {
    DnOptions {
        country: s.country,
        province: s.province,
        locality: s.locality,
        organization: s.organization,
        organizational_unit: s.organizational_unit,
        common_name: s.common_name,
        serial_number: s.serial_number,
        domain_component: s.domain_component,
    }
}

fn issuer(s: &RawIssuerDn) -> DnOptions {
    DnOptions {
        country: s.country,
        province: s.province,
        locality: s.locality,
        organization: s.organization,
        organizational_unit: false,
        common_name: s.common_name,
        serial_number: s.serial_number,
        domain_component: s.domain_component,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::errs;

    #[test]
    fn unknown_keys_name_their_place() {
        let text = "[http.services.s.respond]\nbody = \"x\"\n\
                    [http.middlewares.p.passTLSClientCert.info.issuer]\norganizationalUnit = true\n";
        let (_, errors) = errs(&[("m.toml", text)]);
        let all = format!("{errors:?}");
        assert!(all.contains("organizationalUnit"), "{all}");
        assert!(all.contains("unknown field"), "{all}");
    }
}
