//! Tests of dynamic-config errors: each one names its file and key, and every
//! error of every file is reported together.

use super::tests_dynamic::*;

#[test]
fn bad_services_are_all_reported() {
    let text = r#"
[http.services.both.respond]
[http.services.both.loadBalancer]
servers = [{ url = "http://127.0.0.1:1" }]
[http.services.neither]
[http.services.weighted.mirroring]
service = "x"
[http.services.status.respond]
status = 99
[http.services.nobody.respond]
status = 204
body = "x"
[http.services.tls.loadBalancer]
servers = [{ url = "ftp://127.0.0.1" }, { url = "nonsense" }, { weight = 2 }]
[http.services.dns.loadBalancer]
servers = [{ url = "http://no-such-host.invalid:80" }]
"#;
    let (s, errors) = errs(&[("bad.toml", text)]);
    let got: Vec<_> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    let keys: Vec<_> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "http.services.both",
            // A name that does not resolve is no error (502 when asked).
            "http.services.neither",
            "http.services.nobody.respond.body",
            "http.services.status.respond.status",
            "http.services.tls.loadBalancer.servers[0].url",
            "http.services.tls.loadBalancer.servers[1].url",
            "http.services.tls.loadBalancer.servers[2].url",
            "http.services.weighted.mirroring.service",
        ]
    );
    assert!(errors.iter().all(|e| e.file == file(&s, "bad.toml")));
    assert!(got[4].1.contains("use http, https or h2c"), "{}", got[4].1);
    assert!(got[7].1.contains("`x` is not defined"), "{}", got[7].1);
}

#[test]
fn dangling_references_are_named() {
    let text = r#"
[http.routers.r1]
rule = "Path(`/`)"
service = "nope"
entryPoints = ["web", "websecure"]
middlewares = ["auth"]
[http.routers.r2]
rule = "Path(`/`)"
service = "api@internal"
[http.routers.r3]
rule = "Path(`/`)"
service = "x@docker"
[http.routers.r4]
service = "s"
[http.routers.r5]
rule = "Path(`/`)"
[http.services.s.loadBalancer]
serversTransport = "missing"
servers = [{ url = "http://127.0.0.1:1" }]
"#;
    let (s, errors) = errs(&[("refs.toml", text)]);
    let got: Vec<_> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "http.services.s.loadBalancer.serversTransport",
                "serversTransport `missing` is not defined"
            ),
            (
                "http.routers.r1.middlewares",
                "middleware `auth` is not defined"
            ),
            (
                "http.routers.r1.entryPoints",
                "entry point `websecure` is not defined in the static configuration"
            ),
            ("http.routers.r1.service", "service `nope` is not defined"),
            (
                "http.routers.r2.service",
                "`api@internal` needs [api] in the static configuration"
            ),
            (
                "http.routers.r3.service",
                "service `x@docker`: provider `docker` does not exist (use `@file`, `@redis`, `@etcd` or `@internal`)"
            ),
            ("http.routers.r4.rule", "missing: every router needs a rule"),
            (
                "http.routers.r5.service",
                "missing: every router needs a service"
            ),
        ]
    );
    assert!(errors.iter().all(|e| e.file == file(&s, "refs.toml")));
}

#[test]
fn router_to_invalid_service_is_not_reported_twice() {
    let text = "[http.routers.r]\nrule = \"Path(`/`)\"\nservice = \"s\"\n[http.services.s]\n";
    let (_, errors) = errs(&[("a.toml", text)]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key, "http.services.s");
}

#[test]
fn references_across_files_and_duplicates() {
    let a = "[http.routers.r]\nrule = \"Path(`/`)\"\nservice = \"s\"\n[http.services.s.respond]\n";
    let b = "[http.services.s.respond]\n[http.serversTransports.t]\n";
    let c = "[http.serversTransports.t]\n[http.routers.r]\nrule=\"Path(`/x`)\"\nservice=\"s\"\n";
    let (s, errors) = errs(&[("a.toml", a), ("sub/b.toml", b), ("sub/c.toml", c)]);
    let got: Vec<_> = errors
        .iter()
        .map(|e| (e.file.clone(), e.key.as_str(), e.reason.clone()))
        .collect();
    let (fa, fb, fc) = (
        file(&s, "a.toml"),
        file(&s, "sub/b.toml"),
        file(&s, "sub/c.toml"),
    );
    assert_eq!(
        got,
        [
            (
                fb.clone(),
                "http.services.s",
                format!("`s` is defined in both {fa} and {fb}")
            ),
            (
                fc.clone(),
                "http.routers.r",
                format!("`r` is defined in both {fa} and {fc}")
            ),
            (
                fc.clone(),
                "http.serversTransports.t",
                format!("`t` is defined in both {fb} and {fc}")
            ),
        ]
    );
}

#[test]
fn errors_from_every_file_are_collected() {
    let syntax = "[http.routers.r]\nrule = \"Path(`/`)\"\nservice = \n";
    let unknown = "[http.routers.q]\nrule = \"Path(`/`)\"\nservce = \"s\"\n";
    let dangling = "[http.routers.p]\nrule = \"Path(`/`)\"\nservice = \"s\"\n";
    let unsupported = "[udp.routers.t]\nservice = \"u\"\n";
    let later = "[http.middlewares.m.plugin]\nallowOrigins = [\"*\"]\n";
    let files = [
        ("1.toml", syntax),
        ("2.toml", unknown),
        ("3.toml", dangling),
        ("4.toml", unsupported),
        ("5.toml", later),
    ];
    let (s, errors) = errs(&files);
    let got: Vec<_> = errors
        .iter()
        .map(|e| (e.file.clone(), e.key.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                file(&s, "1.toml"),
                "http.routers.r.service (line 3 column 11)".to_string()
            ),
            (
                file(&s, "2.toml"),
                "http.routers.q.servce (line 3 column 1)".to_string()
            ),
            (file(&s, "4.toml"), "udp (line 1 column 2)".to_string()),
            (
                file(&s, "5.toml"),
                "http.middlewares.m.plugin (line 1 column 21)".to_string()
            ),
            (file(&s, "3.toml"), "http.routers.p.service".to_string()),
        ]
    );
    assert!(errors[1].reason.contains("unknown field `servce`"));
    assert!(
        errors[3].reason.contains("not supported yet"),
        "{}",
        errors[3].reason
    );
    assert!(
        errors[4].reason.contains("some files failed to parse"),
        "{}",
        errors[4].reason
    );
}

#[test]
fn empty_unsupported_tables_are_accepted() {
    ok(&setup(&[("e.toml", "[http.middlewares]\n[tls]\n[http]\n")]).st);
}

#[test]
fn unknown_router_key_and_known_traefik_key() {
    let text = "[http.routers.r]\nrule = \"Path(`/`)\"\nservice = \"s\"\nobservability = {}\n";
    let (_, errors) = errs(&[("t.toml", text)]);
    assert_eq!(
        errors[0].key,
        "http.routers.r.observability (line 4 column 1)"
    );
    assert_eq!(
        errors[0].reason,
        "`observability` is not supported yet by proxyd"
    );
}

#[test]
fn names_with_at_are_refused() {
    let (_, errors) = errs(&[("a.toml", "[http.services.\"a@file\".respond]\n")]);
    assert_eq!(errors[0].key, "http.services.a@file");
}

#[test]
fn zero_timeouts_in_transports() {
    let text = "[http.serversTransports.t.forwardingTimeouts]\ndialTimeout = 0\n";
    let (_, errors) = errs(&[("t.toml", text)]);
    assert_eq!(
        errors[0].key,
        "http.serversTransports.t.forwardingTimeouts.dialTimeout"
    );
}

#[test]
fn bad_upstream_read_timeout_names_its_key() {
    let text = "[http.serversTransports.t.forwardingTimeouts]\nreadTimeout = \"soon\"\n";
    let (_, errors) = errs(&[("t.toml", text)]);
    assert!(
        errors[0]
            .key
            .starts_with("http.serversTransports.t.forwardingTimeouts.readTimeout"),
        "{errors:?}"
    );
}

#[test]
fn a_files_first_error_is_the_first_in_the_file() {
    // TOML/serde stop at a file's first problem. With toml's `preserve_order`
    // (and with toml 0.8) that is the first one in the file, not the first key
    // in sorted order (`a` below).
    let text = "[http.routers.z]\nbogus = 1\n[http.routers.a]\nrule = 1\n";
    let (_, errors) = errs(&[("o.toml", text)]);
    assert_eq!(errors[0].key, "http.routers.z.bogus (line 2 column 1)");
}

#[test]
fn dynamic_duplicate_key_names_the_key() {
    let text = "[http.routers.r]\nrule = \"Path(`/`)\"\nrule = \"Path(`/x`)\"\n";
    let (_, errors) = errs(&[("d.toml", text)]);
    assert_eq!(errors[0].key, "http.routers.r.rule (line 3 column 1)");
    assert!(
        errors[0].reason.contains("duplicate key `rule`"),
        "{errors:?}"
    );
}
