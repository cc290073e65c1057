//! Files and KV stores together: names qualified by provider, references
//! without `@` resolved within their provider, cross-provider references.

use super::tests::toml_to_pairs;
use super::*;
use crate::config::tests_dynamic::setup;
use crate::config::{ConfigError, ConfigErrors, compile_snapshot, read_dynamic_with};

const FILE: &str = r#"
[http.routers.app]
rule = "Host(`file.test`)"
service = "app"
middlewares = ["strip"]
[http.services.app.respond]
body = "file"
[http.middlewares.strip.stripPrefix]
prefixes = ["/f"]
"#;

/// The same names in Redis: no clash with the file's, and `app` there means
/// `app@redis`; `cross` uses the file's middleware and etcd's service.
const REDIS: &str = r#"
[http.routers.app]
rule = "Host(`redis.test`)"
service = "app"
middlewares = ["strip", "strip@file"]
[http.routers.cross]
rule = "Host(`cross.test`)"
service = "app@etcd"
[http.services.app.respond]
body = "redis"
[http.services.lb.loadBalancer]
serversTransport = "slow"
[[http.services.lb.loadBalancer.servers]]
url = "http://127.0.0.1:1"
[http.serversTransports.slow]
maxIdleConnsPerHost = 3
[http.middlewares.strip.stripPrefix]
prefixes = ["/r"]
"#;

const ETCD: &str = r#"
[http.services.app.respond]
body = "etcd"
"#;

fn refused(kv: &[(&str, &str)]) -> Vec<ConfigError> {
    compile(kv).err().expect("refused")
}

fn compile(kv: &[(&str, &str)]) -> Result<crate::config::Snapshot, Vec<ConfigError>> {
    let s = setup(&[("a.toml", FILE)]);
    let sources = kv
        .iter()
        .map(|(name, src)| source(name, "traefik", &toml_to_pairs("traefik", src)))
        .collect();
    let files = read_dynamic_with(&s.st, sources);
    compile_snapshot(&s.st, files, 1).map_err(|ConfigErrors(e)| e)
}

#[test]
fn names_are_qualified_by_provider_and_references_stay_within_it() {
    let snap = compile(&[("redis", REDIS), ("etcd", ETCD)])
        .map_err(ConfigErrors)
        .unwrap();
    let names: Vec<&str> = snap.routers.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains(&"app@file") && names.contains(&"app@redis"),
        "{names:?}"
    );
    assert!(names.contains(&"cross@redis"), "{names:?}");
    let service_of = |router: &str| {
        let r = snap.routers.iter().find(|r| r.name == router).unwrap();
        snap.services[r.service].name.as_str()
    };
    assert_eq!(service_of("app@file"), "app@file");
    assert_eq!(service_of("app@redis"), "app@redis");
    assert_eq!(service_of("cross@redis"), "app@etcd");
    let mws: Vec<&str> = snap.middlewares.iter().map(|m| m.name.as_str()).collect();
    assert!(
        mws.contains(&"strip@file") && mws.contains(&"strip@redis"),
        "{mws:?}"
    );
    let r = snap.routers.iter().find(|r| r.name == "app@redis").unwrap();
    let chain: Vec<&str> = r
        .middlewares
        .iter()
        .map(|i| snap.middlewares[*i as usize].name.as_str())
        .collect();
    assert_eq!(chain, ["strip@redis", "strip@file"]);
}

#[test]
fn a_reference_to_a_missing_or_unknown_provider_is_refused() {
    let errs = refused(&[("redis", REDIS)]);
    assert!(
        errs.iter()
            .any(|e| e.file == "redis" && e.reason.contains("service `app@etcd` is not defined")),
        "{errs:?}"
    );
    let bad = "[http.routers.x]\nrule = \"Path(`/`)\"\nservice = \"app@consul\"\n";
    let errs = refused(&[("redis", bad)]);
    assert!(
        errs.iter()
            .any(|e| e.reason.contains("provider `consul` does not exist")),
        "{errs:?}"
    );
}

#[test]
fn a_name_qualified_with_another_provider_is_refused() {
    let bad = "[http.services.\"x@file\".respond]\nbody = \"b\"\n";
    let errs = refused(&[("redis", bad)]);
    assert!(
        errs.iter()
            .any(|e| e.reason.contains("names cannot contain '@'")),
        "{errs:?}"
    );
}
