//! Tests of the `tls` and `tcp` sections through the whole compile: what lands in
//! the snapshot, and errors with their file and key.

use super::tests_dynamic::*;
use super::*;

fn snapshot(files: &[(&str, &str)]) -> Result<Snapshot, ConfigErrors> {
    let s = setup(files);
    load_snapshot(&s.st, 1)
}

fn keys(e: &ConfigErrors) -> Vec<String> {
    e.0.iter()
        .map(|e| format!("{} | {}", e.key, e.reason))
        .collect()
}

#[test]
fn tcp_routers_and_tables() {
    let text = r#"
[tcp.routers.db]
rule = "HostSNI(`db.test`)"
service = "db"
entryPoints = ["web"]
[tcp.routers.db.tls]
passthrough = true
[tcp.routers.any]
rule = "HostSNI(`*`)"
service = "db@file"
priority = 1
[tcp.services.db.loadBalancer]
servers = [{ address = "127.0.0.1:5432", weight = 3 }]
"#;
    let snap = snapshot(&[("tcp.toml", text)]).unwrap();
    assert_eq!(snap.tcp.routers.len(), 2);
    assert_eq!(snap.tcp.services[0].servers[0].weight, 3);
    // admin: only `any`; web: `db` (longer rule, higher priority) first.
    assert_eq!(snap.tcp.tables[0].len(), 1);
    let web: Vec<_> = snap.tcp.tables[1]
        .iter()
        .map(|&i| snap.tcp.routers[i as usize].name.as_str())
        .collect();
    assert_eq!(web, ["db@file", "any@file"]);
    assert_eq!(snap.tcp.kinds(1), (true, true));
    assert!(
        snap.tls.configs.contains_key("default"),
        "default options always exist"
    );
}

#[test]
fn tcp_and_tls_errors_name_file_and_key() {
    let text = r#"
[tcp.routers.plain]
rule = "HostSNI(`a.test`)"
service = "nope"
[tcp.routers.bad]
rule = "Host(`a`)"
service = "s"
[tcp.services.s.loadBalancer]
servers = [{ address = "not an address" }]
[tls.options.o]
minVersion = "VersionTLS9"
[tls.options.p]
cipherSuites = ["TLS_RSA_WITH_RC4_128_SHA"]
[tls.options.q.clientAuth]
clientAuthType = "RequireAndVerifyClientCert"
[[tls.certificates]]
certFile = "missing.crt"
keyFile = "missing.key"
[[tls.certificates]]
certFile = "x.crt"
[http.routers.r]
rule = "Path(`/`)"
service = "whoami@internal"
[http.routers.r.tls]
options = "undefined"
"#;
    let e = snapshot(&[("bad.toml", text)]).err().expect("refused");
    let got = keys(&e).join("\n");
    for want in [
        "tcp.routers.plain.rule | HostSNI/HostSNIRegexp/ALPN need `tls`",
        "tcp.routers.plain.service | TCP service `nope` is not defined",
        "tcp.routers.bad.rule | invalid rule",
        "tcp.services.s.loadBalancer.servers[0].address",
        "tls.options.o | minVersion",
        "tls.options.p | cipher suite \"TLS_RSA_WITH_RC4_128_SHA\" is not supported",
        "tls.options.q | clientAuthType RequireAndVerifyClientCert needs clientAuth.caFiles",
        "tls.certificates[0] | cannot read",
        "tls.certificates[1] | both certFile and keyFile are required",
        "http.routers.r.tls.options | TLS options `undefined` are not defined",
    ] {
        assert!(got.contains(want), "missing {want:?} in:\n{got}");
    }
    assert!(e.0.iter().all(|e| e.file.ends_with("bad.toml")), "{e}");
}

#[test]
fn unknown_tls_keys_stay_errors() {
    let e = snapshot(&[("x.toml", "[tls.options.a]\nsniStrictt = true\n")])
        .err()
        .unwrap();
    assert!(keys(&e)[0].contains("sniStrictt"), "{e}");
}

#[test]
fn inline_pem_and_tls_router_tables() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["in.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let text = format!(
        "[[tls.certificates]]\ncertFile = '''{}'''\nkeyFile = '''{}'''\n\
         [http.routers.s]\nrule = \"Host(`in.test`)\"\nservice = \"whoami@internal\"\n[http.routers.s.tls]\n\
         [http.routers.p]\nrule = \"Host(`in.test`)\"\nservice = \"whoami@internal\"\n",
        cert.pem(),
        key.serialize_pem()
    );
    let snap = snapshot(&[("in.toml", &text)]).unwrap();
    assert!(snap.tls.store.find("IN.test").is_some());
    assert_eq!(snap.tls_tables[1].len(), 1);
    assert_eq!(snap.tables[1].len(), 1);
}

#[test]
fn tcp_routers_find_their_service_among_many() {
    let mut text = String::new();
    for s in ["c", "a", "d", "b"] {
        text.push_str(&format!(
            "[tcp.routers.to_{s}]\nrule = \"HostSNI(`*`)\"\nservice = \"{s}\"\n\
             [tcp.services.{s}.loadBalancer]\nservers = [{{ address = \"127.0.0.1:1\" }}]\n"
        ));
    }
    let snap = snapshot(&[("tcp.toml", &text)]).unwrap();
    for r in &snap.tcp.routers {
        let service = &snap.tcp.services[r.service].name;
        let want = r.name.trim_start_matches("to_").replace("@file", "");
        assert_eq!(service, &format!("{want}@file"), "{}", r.name);
    }
    let Err(err) = snapshot(&[("tcp.toml", &text.replace("\"b\"", "\"e\""))]) else {
        panic!("a dangling TCP service was accepted");
    };
    assert_eq!(
        keys(&err),
        ["tcp.routers.to_b.service | TCP service `e` is not defined"]
    );
}
