//! Every unknown or unsupported key of a file is reported, each with its full
//! path, line and column, and "not supported yet" only where Traefik has the key.

use std::path::Path;

use super::raw_dynamic::RawDynamic;
use super::raw_static::RawStatic;
use super::refused_keys::{self, MAX_ERRORS};
use super::traefik_keys::Schema;
use super::*;

/// (key, reason) of every error of a dynamic file.
fn dynamic(src: &str) -> Vec<(String, String)> {
    let errors = refused_keys::parse::<RawDynamic>(Path::new("d.toml"), src, Schema::Dynamic)
        .expect_err("file should be refused");
    errors.into_iter().map(|e| (e.key, e.reason)).collect()
}

fn static_file(src: &str) -> Vec<(String, String)> {
    let errors = refused_keys::parse::<RawStatic>(Path::new("s.toml"), src, Schema::Static)
        .expect_err("file should be refused");
    errors.into_iter().map(|e| (e.key, e.reason)).collect()
}

fn unknown(field: &str) -> impl Fn(&(String, String)) -> bool + '_ {
    move |(_, reason)| reason.starts_with(&format!("unknown field `{field}`, expected"))
}

fn unsupported(field: &str) -> String {
    format!("`{field}` is not supported yet by proxyd")
}

#[test]
fn three_unknown_keys_in_three_tables_are_all_reported() {
    let src = "\
[http.routers.r]
rule = \"Path(`/`)\"
servce = \"s\"

[http.services.s.loadBalancer]
passHostHeaders = true

[[http.services.s.loadBalancer.servers]]
url = \"http://127.0.0.1:1\"

[[http.services.s.loadBalancer.servers]]
url = \"http://127.0.0.1:2\"
wieght = 2
";
    let got = dynamic(src);
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http.routers.r.servce (line 3 column 1)",
            "http.services.s.loadBalancer.passHostHeaders (line 6 column 1)",
            "http.services.s.loadBalancer.servers[1].wieght (line 13 column 1)",
        ]
    );
    assert!(unknown("servce")(&got[0]), "{got:?}");
    assert!(unknown("passHostHeaders")(&got[1]), "{got:?}");
    assert!(unknown("wieght")(&got[2]), "{got:?}");
}

#[test]
fn traefik_keys_proxyd_lacks_are_not_supported_yet() {
    let src = "\
[http.services.s.loadBalancer]
passHostHeader = true
[http.services.s.loadBalancer.sticky.cookie]
name = \"c\"
[http.services.s.highestRandomWeight]
services = []
[http.serversTransports.x]
spiffe = {}
";
    let got = dynamic(src);
    assert_eq!(
        got,
        [
            (
                "http.services.s.highestRandomWeight (line 5 column 18)".into(),
                unsupported("highestRandomWeight")
            ),
            (
                "http.serversTransports.x.spiffe (line 8 column 1)".into(),
                unsupported("spiffe")
            ),
        ]
    );
}

#[test]
fn static_traefik_keys_are_not_supported_yet() {
    let src = "\
[entryPoints.x]
address = \":80\"
[entryPoints.x.http3]
advertisedPort = 443
[providers.docker]
exposedByDefault = false
";
    assert_eq!(
        static_file(src),
        [
            (
                "entryPoints.x.http3 (line 3 column 16)".into(),
                unsupported("http3")
            ),
            (
                "providers.docker (line 5 column 12)".into(),
                unsupported("docker")
            ),
        ]
    );
}

#[test]
fn a_traefik_name_in_the_wrong_place_is_unknown() {
    // `sticky`, `strategy` and `http2` are Traefik keys, but not there.
    let src = "\
[http.routers.r]
sticky = true
[http.services.s.loadBalancer]
servers = [{ url = \"http://127.0.0.1:1\", strategy = \"wrr\" }]
";
    let got = dynamic(src);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "http.routers.r.sticky (line 2 column 1)");
    assert!(unknown("sticky")(&got[0]), "{got:?}");
    assert_eq!(
        got[1].0,
        "http.services.s.loadBalancer.servers[0].strategy (line 4 column 42)"
    );
    assert!(unknown("strategy")(&got[1]), "{got:?}");
    assert!(got[1].1.contains("`url`"), "alternatives listed: {got:?}");

    let got = static_file("[entryPoints.x]\naddress = \":80\"\n[entryPoints.x.http.http2]\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "entryPoints.x.http.http2 (line 3 column 21)");
    assert!(unknown("http2")(&got[0]), "{got:?}");
}

#[test]
fn inline_tables_dotted_keys_and_type_errors_together() {
    let src = "\
http.routers.r.rule = \"Path(`/`)\"
http.routers.r.bogus = 1
[http.services.s]
loadBalancer = { passHostHeader = \"yes\", passiveHealthCheck = { maxFailedAttempts = 2 } }
highestRandomWeight = { services = [] }
";
    let got = dynamic(src);
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http.routers.r.bogus (line 2 column 16)",
            "http.services.s.loadBalancer.passHostHeader (line 4 column 35)",
            "http.services.s.highestRandomWeight (line 5 column 1)",
        ]
    );
    assert!(got[1].1.contains("invalid type"), "{got:?}");
    assert_eq!(got[2].1, unsupported("highestRandomWeight"));
}

#[test]
fn a_syntax_error_still_stops_the_file() {
    let got = dynamic("[http.routers.r]\nbogus = 1\nrule = \n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "http.routers.r.rule (line 3 column 8)");
}

#[test]
fn the_list_is_bounded() {
    let mut src = String::from("[http.routers.r]\n");
    for i in 0..MAX_ERRORS + 20 {
        src.push_str(&format!("k{i} = 1\n"));
    }
    let got = dynamic(&src);
    assert_eq!(got.len(), MAX_ERRORS + 1);
    assert!(got[MAX_ERRORS].1.contains("not listed"), "{got:?}");
}

#[test]
fn proxyd_extensions_are_accepted() {
    let src = "[http.services.s.respond]\nstatus = 204\nbody = \"\"\nnope = 1\n";
    assert_eq!(dynamic(src).len(), 1);
}

#[test]
fn load_static_reports_every_key() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("proxyd.toml");
    let text = "[entryPoints.web]\naddress = \":80\"\nreusePort = true\nbogus = 1\n[global]\n";
    std::fs::write(&path, text).unwrap();
    let errs = load_static(&path).unwrap_err().0;
    let got: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
    let file = path.display();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got[0],
        format!(
            "{file}: entryPoints.web.reusePort (line 3 column 1): `reusePort` is not supported yet by proxyd"
        )
    );
    assert!(
        got[1].starts_with(&format!(
            "{file}: entryPoints.web.bogus (line 4 column 1): unknown field `bogus`"
        )),
        "{got:?}"
    );
    assert_eq!(
        got[2],
        format!("{file}: global (line 5 column 2): `global` is not supported yet by proxyd")
    );
}

#[test]
fn observability_sections_report_every_key_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("proxyd.toml");
    let text = "\
[entryPoints.traefik]
address = \":8080\"
[accessLog]
addInternals = true
[accessLog.fields.headers]
defaultMode = \"keep\"
bogus = 1
[metrics.datadog]
address = \"x\"
[api]
debug = true
[tracing]
";
    std::fs::write(&path, text).unwrap();
    let errs = load_static(&path).unwrap_err().0;
    let got: Vec<_> = errs.iter().map(|e| (e.key.as_str(), &e.reason)).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0].0, "tracing (line 12 column 2)");
    assert_eq!(*got[0].1, unsupported("tracing"));
    assert_eq!(got[1].0, "accessLog.addInternals (line 4 column 1)");
    assert_eq!(*got[1].1, unsupported("addInternals"));
    assert_eq!(got[2].0, "accessLog.fields.headers.bogus (line 7 column 1)");
    assert!(got[2].1.starts_with("unknown field `bogus`"), "{got:?}");
    assert_eq!(got[3].0, "metrics.datadog (line 8 column 10)");
    assert_eq!(*got[3].1, unsupported("datadog"));
    assert_eq!(got[4].0, "api.debug (line 11 column 1)");
    assert_eq!(*got[4].1, unsupported("debug"));
}
