//! `certificatesResolvers` → [`AcmeResolver`]s: Traefik's defaults, its checks
//! (`Provider.Init`), and "not supported yet" for what proxyd lacks (DNS-01,
//! Tailscale, profiles, RSA keys, alternate chains).

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;

use super::acme_types::*;
use super::error::Collector;
use super::raw_acme::{RawAcme, RawDomain, RawResolver};
use super::types::EntryPoint;

pub fn resolvers(
    raw: &BTreeMap<String, RawResolver>,
    eps: &[EntryPoint],
    c: &mut Collector,
) -> Vec<AcmeResolver> {
    let mut out = Vec::new();
    for (name, r) in raw {
        let key = format!("certificatesResolvers.{name}");
        if r.tailscale.is_some() {
            c.push(
                format!("{key}.tailscale"),
                "Tailscale is not supported yet by proxyd",
            );
        }
        match &r.acme {
            Some(a) => out.extend(acme(name, &format!("{key}.acme"), a, eps, c)),
            None if r.tailscale.is_none() => c.push(key, "missing: `acme`"),
            None => {}
        }
    }
    out
}

fn not_yet(c: &mut Collector, key: &str, set: bool) {
    if set {
        c.push(key, "not supported yet by proxyd");
    }
}

fn acme(
    name: &str,
    key: &str,
    a: &RawAcme,
    eps: &[EntryPoint],
    c: &mut Collector,
) -> Option<AcmeResolver> {
    let before = c.errors.len();
    not_yet(c, &format!("{key}.dnsChallenge"), a.dns_challenge.is_some());
    not_yet(
        c,
        &format!("{key}.preferredChain"),
        a.preferred_chain.is_some(),
    );
    not_yet(c, &format!("{key}.profile"), a.profile.is_some());
    not_yet(
        c,
        &format!("{key}.emailAddresses"),
        a.email_addresses.is_some(),
    );
    not_yet(
        c,
        &format!("{key}.disableCommonName"),
        a.disable_common_name == Some(true),
    );
    let key_type = match a.key_type.as_deref() {
        None => DEFAULT_ACME_KEY_TYPE,
        Some("EC256") => KeyType::Ec256,
        Some("EC384") => KeyType::Ec384,
        Some(k @ ("RSA2048" | "RSA4096" | "RSA8192")) => {
            let why = format!("{k:?} is not supported yet by proxyd (EC256 or EC384)");
            c.push(format!("{key}.keyType"), why);
            KeyType::Ec256
        }
        Some(k) => {
            let why = format!("{k:?}: expected EC256, EC384, RSA2048, RSA4096 or RSA8192");
            c.push(format!("{key}.keyType"), why);
            KeyType::Ec256
        }
    };
    let ca_server = a.ca_server.clone().unwrap_or(DEFAULT_ACME_CA_SERVER.into());
    if !ca_server.starts_with("https://") {
        c.push(
            format!("{key}.caServer"),
            format!("{ca_server:?}: expected an https:// URL"),
        );
    }
    let duration = a
        .certificates_duration
        .unwrap_or(DEFAULT_ACME_CERTIFICATES_DURATION as i64);
    if duration < 1 {
        let why = "cannot manage certificates with duration lower than 1 hour";
        c.push(format!("{key}.certificatesDuration"), why);
    }
    let storage = a.storage.clone().unwrap_or(DEFAULT_ACME_STORAGE.into());
    if storage.is_empty() {
        c.push(
            format!("{key}.storage"),
            "empty: a storage file is required",
        );
    }
    let eab = a
        .eab
        .as_ref()
        .and_then(|e| eab(&format!("{key}.eab"), e, c));
    let http_challenge = a.http_challenge.as_ref().and_then(|h| {
        let k = format!("{key}.httpChallenge.entryPoint");
        match h.entry_point.as_deref() {
            None | Some("") => c.push(k, "missing: the entry point that answers http-01"),
            Some(ep) if !eps.iter().any(|e| e.name == ep) => {
                c.push(k, format!("entry point `{ep}` is not defined"))
            }
            Some(ep) => return Some((ep.to_string(), h.delay.map(|d| d.0).unwrap_or_default())),
        }
        None
    });
    let tls_challenge = a
        .tls_challenge
        .as_ref()
        .map(|t| t.delay.map(|d| d.0).unwrap_or_default());
    if a.http_challenge.is_none() && a.tls_challenge.is_none() && a.dns_challenge.is_none() {
        let why = "ACME challenge not specified, please select TLS or HTTP or DNS Challenge";
        c.push(key, why);
    }
    let client_timeout = a
        .client_timeout
        .map_or(DEFAULT_ACME_CLIENT_TIMEOUT, |d| d.0);
    let header_timeout = a
        .client_response_header_timeout
        .map_or(DEFAULT_ACME_CLIENT_RESPONSE_HEADER_TIMEOUT, |d| d.0);
    if client_timeout < header_timeout {
        let why = "clientTimeout must be at least clientResponseHeaderTimeout";
        c.push(format!("{key}.clientTimeout"), why);
    }
    (c.errors.len() == before).then(|| AcmeResolver {
        name: name.to_string(),
        email: a.email.clone().unwrap_or_default(),
        ca_server,
        storage: PathBuf::from(storage),
        key_type,
        certificates_duration: duration as u64,
        eab,
        http_challenge,
        tls_challenge,
        ca_certificates: a
            .ca_certificates
            .iter()
            .flatten()
            .map(PathBuf::from)
            .collect(),
        ca_system_cert_pool: a.ca_system_cert_pool.unwrap_or(false),
        ca_server_name: a.ca_server_name.clone().filter(|s| !s.is_empty()),
        client_timeout,
        client_response_header_timeout: header_timeout,
        certificate_timeout: a
            .certificate_timeout
            .map_or(DEFAULT_ACME_CERTIFICATE_TIMEOUT, |d| d.0),
    })
}

fn eab(key: &str, e: &super::raw_acme::RawEab, c: &mut Collector) -> Option<Eab> {
    let kid = e.kid.clone().filter(|k| !k.is_empty());
    let Some(kid) = kid else {
        c.push(
            format!("{key}.kid"),
            "missing: the key identifier from the CA",
        );
        return None;
    };
    let encoded = e.hmac_encoded.as_deref().unwrap_or("");
    // CAs hand the key out base64url without padding (lego decodes it so).
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match engine.decode(encoded.trim_end_matches('=')) {
        Ok(hmac) if !hmac.is_empty() => Some(Eab { kid, hmac }),
        _ => {
            c.push(format!("{key}.hmacEncoded"), "missing or not base64url");
            None
        }
    }
}

/// `tls.domains`: each entry needs a `main`.
pub fn domains(raw: &[RawDomain], key: &str, push: &mut dyn FnMut(String, String)) -> Vec<Domain> {
    let mut out = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        match d.main.as_deref().map(str::trim) {
            Some(main) if !main.is_empty() => out.push(Domain {
                main: main.to_ascii_lowercase(),
                sans: d
                    .sans
                    .iter()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect(),
            }),
            _ => push(
                format!("{key}[{i}].main"),
                "missing: the certificate's main name".into(),
            ),
        }
    }
    out
}
