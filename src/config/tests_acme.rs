//! Tests of `certificatesResolvers` (static) and routers' `tls.certResolver` /
//! `tls.domains` (dynamic): defaults, every key, refusals naming their key.

use std::path::Path;
use std::time::Duration;

use super::tests_dynamic::setup;
use super::*;

const EP: &str = "[entryPoints.web]\naddress = \":80\"\n";

fn load(text: &str) -> Result<StaticConfig, ConfigErrors> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("proxyd.toml");
    std::fs::write(&path, format!("{EP}{text}")).unwrap();
    load_static(&path)
}

fn reasons(text: &str) -> Vec<String> {
    let e = load(text).expect_err("should be refused");
    e.0.iter()
        .map(|e| format!("{} | {}", e.key, e.reason))
        .collect()
}

#[test]
fn defaults_and_every_key() {
    let cfg = load("[certificatesResolvers.le.acme.tlsChallenge]\n").unwrap();
    let r = &cfg.cert_resolvers[0];
    assert_eq!(
        (r.name.as_str(), r.ca_server.as_str()),
        ("le", DEFAULT_ACME_CA_SERVER)
    );
    assert_eq!(r.storage, Path::new(DEFAULT_ACME_STORAGE));
    assert_eq!(r.key_type, KeyType::Ec256);
    assert_eq!(r.certificates_duration, 2160);
    assert_eq!(r.tls_challenge, Some(Duration::ZERO));
    assert_eq!(r.http_challenge, None);
    assert_eq!(r.client_timeout, Duration::from_secs(120));
    let text = r#"
[certificatesResolvers.le.acme]
email = "a@b.c"
caServer = "https://ca.test/dir"
storage = "/data/acme.json"
keyType = "EC384"
certificatesDuration = 24
caCertificates = ["/ca.pem"]
caSystemCertPool = true
caServerName = "ca.internal"
clientTimeout = "1m"
clientResponseHeaderTimeout = "10s"
certificateTimeout = "5s"
[certificatesResolvers.le.acme.eab]
kid = "k1"
hmacEncoded = "aGVsbG8"
[certificatesResolvers.le.acme.httpChallenge]
entryPoint = "web"
delay = "1s"
"#;
    let cfg = load(text).unwrap();
    let r = &cfg.cert_resolvers[0];
    assert_eq!(
        (r.email.as_str(), r.key_type, r.certificates_duration),
        ("a@b.c", KeyType::Ec384, 24)
    );
    assert_eq!(
        r.eab,
        Some(Eab {
            kid: "k1".into(),
            hmac: b"hello".to_vec()
        })
    );
    assert_eq!(
        r.http_challenge,
        Some(("web".into(), Duration::from_secs(1)))
    );
    assert_eq!(r.ca_server_name.as_deref(), Some("ca.internal"));
    assert!(r.ca_system_cert_pool && r.ca_certificates.len() == 1);
    assert_eq!(r.certificate_timeout, Duration::from_secs(5));
}

#[test]
fn refusals_name_their_key() {
    let base = "[certificatesResolvers.le.acme]\n";
    let cases = [
        (
            "[certificatesResolvers.le.acme.dnsChallenge]\nprovider = \"x\"\n",
            "certificatesResolvers.le.acme.dnsChallenge | not supported yet by proxyd",
        ),
        (
            "keyType = \"RSA4096\"\n[certificatesResolvers.le.acme.tlsChallenge]\n",
            "certificatesResolvers.le.acme.keyType | \"RSA4096\" is not supported yet by proxyd (EC256 or EC384)",
        ),
        (
            "",
            "certificatesResolvers.le.acme | ACME challenge not specified, please select TLS or HTTP or DNS Challenge",
        ),
        (
            "certificatesDuration = 0\n[certificatesResolvers.le.acme.tlsChallenge]\n",
            "certificatesResolvers.le.acme.certificatesDuration | cannot manage certificates with duration lower than 1 hour",
        ),
        (
            "[certificatesResolvers.le.acme.httpChallenge]\nentryPoint = \"nope\"\n",
            "certificatesResolvers.le.acme.httpChallenge.entryPoint | entry point `nope` is not defined",
        ),
        (
            "caServer = \"http://ca\"\n[certificatesResolvers.le.acme.tlsChallenge]\n",
            "certificatesResolvers.le.acme.caServer | \"http://ca\": expected an https:// URL",
        ),
    ];
    for (text, want) in cases {
        let got = reasons(&format!("{base}{text}"));
        assert!(got.iter().any(|g| g == want), "{want}\n{got:?}");
    }
    let got = reasons("[certificatesResolvers.ts.tailscale]\n");
    assert_eq!(
        got,
        ["certificatesResolvers.ts.tailscale | Tailscale is not supported yet by proxyd"]
    );
}

#[test]
fn entry_point_resolver_and_domains() {
    let text = "[entryPoints.web.http.tls]\ncertResolver = \"le\"\ndomains = [{ main = \"A.test\", sans = [\"b.test\"] }]\n\
                [certificatesResolvers.le.acme.tlsChallenge]\n";
    let cfg = load(text).unwrap();
    let tls = cfg.entry_points[0].http_tls.as_ref().unwrap();
    assert_eq!(tls.cert_resolver.as_deref(), Some("le"));
    assert_eq!(tls.domains[0].names(), ["a.test", "b.test"]);
}

#[test]
fn router_resolver_must_exist_and_domains_need_main() {
    let router = "[http.routers.r]\nrule = \"Host(`a.test`)\"\nservice = \"s\"\n\
                  [http.routers.r.tls]\ncertResolver = \"le\"\ndomains = [{ sans = [\"x.test\"] }]\n\
                  [http.services.s.loadBalancer]\nservers = [{ url = \"http://127.0.0.1:1\" }]\n";
    let s = setup(&[("r.toml", router)]);
    let e = load_snapshot(&s.st, 1).err().expect("refused");
    let got: Vec<String> =
        e.0.iter()
            .map(|e| format!("{} | {}", e.key, e.reason))
            .collect();
    assert!(got.contains(&"http.routers.r.tls.certResolver | certificate resolver `le` is not defined in the static configuration".to_string()), "{got:?}");
    assert!(
        got.contains(
            &"http.routers.r.tls.domains[0].main | missing: the certificate's main name"
                .to_string()
        ),
        "{got:?}"
    );
    let mut s = setup(&[(
        "r.toml",
        &router.replace(
            "domains = [{ sans = [\"x.test\"] }]",
            "domains = [{ main = \"a.test\" }]",
        ),
    )]);
    s.st.cert_resolvers = load("[certificatesResolvers.le.acme.tlsChallenge]\n")
        .unwrap()
        .cert_resolvers;
    let snap = load_snapshot(&s.st, 1).unwrap();
    let tls = snap.routers[0].tls.as_ref().unwrap();
    assert_eq!(
        (tls.cert_resolver.as_deref(), tls.domains[0].names()),
        (Some("le"), vec!["a.test".to_string()])
    );
}

#[test]
fn rule_host_names_are_what_acme_orders() {
    let rule = crate::router::Rule::parse(
        "Host(`A.test`) || (Host(`b.test`) && Path(`/x`)) || Host(`a.test`)",
    )
    .unwrap();
    assert_eq!(rule.host_names(), ["a.test", "b.test"]);
}
