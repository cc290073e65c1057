//! The decoder against the file provider: a dynamic file written out as KV
//! pairs in Traefik's layout must decode to the same raw structs.

use proptest::prelude::*;

use super::*;
use crate::config::refused_keys;
use crate::config::traefik_keys::Schema;

/// A TOML document as store pairs under `root`: tables become segments, arrays
/// numbered segments, scalars their text (as a Traefik user would write them).
pub fn toml_to_pairs(root: &str, src: &str) -> Vec<(String, String)> {
    let doc: toml::Table = toml::from_str(src).expect("valid sample");
    let mut out = Vec::new();
    flatten(root, &toml::Value::Table(doc), &mut out);
    out
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten(&format!("{prefix}/{k}"), v, out);
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}/{i}"), v, out);
            }
        }
        toml::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn from_file(src: &str) -> RawDynamic {
    refused_keys::parse(std::path::Path::new("t.toml"), src, Schema::Dynamic).expect("file parses")
}

fn from_kv(src: &str) -> RawDynamic {
    decode("traefik", &toml_to_pairs("traefik", src)).expect("pairs decode")
}

fn same(src: &str) {
    assert_eq!(
        format!("{:?}", from_kv(src)),
        format!("{:?}", from_file(src))
    );
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn errors(list: &[(&str, &str)]) -> Vec<DecodeError> {
    decode("traefik", &pairs(list)).expect_err("refused")
}

const ROUTERS: &str = r#"
[http.routers.api]
rule = "Host(`a.example`) && PathPrefix(`/v1`)"
service = "app"
entryPoints = ["web", "websecure"]
priority = 42
middlewares = ["strip", "auth@file"]
[http.routers.api.tls]
options = "modern"
certResolver = "le"
[[http.routers.api.tls.domains]]
main = "a.example"
sans = ["b.example"]
"#;

const SERVICES: &str = r#"
[http.services.app.loadBalancer]
passHostHeader = false
serversTransport = "slow"
strategy = "p2c"
[[http.services.app.loadBalancer.servers]]
url = "http://10.0.0.1:8080"
weight = 3
[[http.services.app.loadBalancer.servers]]
url = "http://10.0.0.2:8080"
preservePath = true
[http.services.app.loadBalancer.healthCheck]
path = "/health"
interval = "10s"
timeout = "3"
port = 8081
followRedirects = false
headers = { X-Probe = "1" }
[http.services.app.loadBalancer.sticky.cookie]
name = "lb"
secure = true
httpOnly = true
sameSite = "strict"
maxAge = 60
[http.services.app.loadBalancer.responseForwarding]
flushInterval = "-1"
[http.services.fixed.respond]
status = 404
body = "nope"
[http.serversTransports.slow]
maxIdleConnsPerHost = 7
[http.serversTransports.slow.forwardingTimeouts]
dialTimeout = "1s"
responseHeaderTimeout = "1m30s"
"#;

const MIDDLEWARES: &str = r#"
[http.middlewares.strip.stripPrefix]
prefixes = ["/v1", "/v2"]
[http.middlewares.auth.basicAuth]
users = ["u:$apr1$x$y"]
realm = "r"
removeHeader = true
[http.middlewares.hdr.headers]
customRequestHeaders = { X-A = "1", X-Empty = "" }
stsSeconds = 31536000
accessControlAllowMethods = ["GET", "PUT"]
[http.middlewares.allow.ipAllowList]
sourceRange = ["10.0.0.0/8", "127.0.0.1/32"]
[http.middlewares.allow.ipAllowList.ipStrategy]
depth = 2
[http.middlewares.limit.rateLimit]
average = 100
burst = 50
period = "1m"
[http.middlewares.redir.redirectScheme]
scheme = "https"
permanent = true
[http.middlewares.chain1.chain]
middlewares = ["strip", "hdr"]
"#;

const TLS: &str = r#"
[tls.options.modern]
minVersion = "VersionTLS13"
sniStrict = true
alpnProtocols = ["http/1.1"]
[tls.options.modern.clientAuth]
caFiles = ["/ca.pem"]
clientAuthType = "RequireAndVerifyClientCert"
[[tls.certificates]]
certFile = "/c.pem"
keyFile = "/k.pem"
stores = ["default"]
[tls.stores.default.defaultCertificate]
certFile = "/c.pem"
keyFile = "/k.pem"
[tcp.routers.db]
rule = "HostSNI(`db.example`)"
service = "db"
[tcp.routers.db.tls]
passthrough = true
[[tcp.services.db.loadBalancer.servers]]
address = "10.0.0.9:5432"
"#;

#[test]
fn routers_decode_as_from_a_file() {
    same(ROUTERS);
}

#[test]
fn services_decode_as_from_a_file() {
    same(SERVICES);
}

#[test]
fn middlewares_decode_as_from_a_file() {
    same(MIDDLEWARES);
}

#[test]
fn tls_and_tcp_decode_as_from_a_file() {
    same(TLS);
}

#[test]
fn traefik_layout_case_insensitive_fields_and_named_keys_kept() {
    let raw = decode(
        "traefik",
        &pairs(&[
            ("traefik/http/routers/MyRouter/Rule", "Path(`/`)"),
            ("traefik/http/routers/MyRouter/entrypoints/0", "web"),
            ("traefik/http/routers/MyRouter/entrypoints/1", "other"),
            (
                "traefik/HTTP/services/Svc/loadbalancer/servers/0/url",
                "http://a",
            ),
            (
                "traefik/http/services/Svc/LoadBalancer/passhostheader",
                "FALSE",
            ),
        ]),
    )
    .unwrap();
    let http = raw.http.unwrap();
    let r = &http.routers["MyRouter"];
    assert_eq!(r.rule.as_deref(), Some("Path(`/`)"));
    assert_eq!(
        r.entry_points.as_deref(),
        Some(&["web".into(), "other".into()][..])
    );
    let lb = http.services["Svc"].load_balancer.as_ref().unwrap();
    assert_eq!(lb.servers[0].url.as_deref(), Some("http://a"));
    assert_eq!(lb.pass_host_header, Some(false));
}

#[test]
fn lists_follow_index_order_and_accept_commas() {
    let mut list = vec![];
    for i in 0..12 {
        list.push((
            format!("traefik/http/routers/r/middlewares/{i}"),
            format!("m{i}"),
        ));
    }
    list.push(("traefik/http/routers/r/entryPoints".into(), "a,b".into()));
    let http = decode("traefik", &list).unwrap().http.unwrap();
    let r = &http.routers["r"];
    let want: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
    assert_eq!(r.middlewares, want, "10 and 11 come after 9, not after 1");
    assert_eq!(
        r.entry_points.as_deref(),
        Some(&["a".into(), "b".into()][..])
    );
}

#[test]
fn other_roots_and_sections_are_not_ours() {
    let raw = decode(
        "traefik",
        &pairs(&[
            ("traefik/http/routers/r/rule", "Path(`/`)"),
            ("traefik/other/tool/key", "x"),
            ("traefik2/http/routers/x/rule", "Path(`/x`)"),
            ("traefik", "root value"),
        ]),
    )
    .unwrap();
    assert_eq!(raw.http.unwrap().routers.len(), 1);
}

#[test]
fn empty_value_or_true_is_an_empty_table() {
    let http = decode(
        "traefik",
        &pairs(&[
            ("traefik/http/routers/r/rule", "Path(`/`)"),
            ("traefik/http/routers/r/tls", "true"),
            ("traefik/http/routers/s/rule", "Path(`/s`)"),
            ("traefik/http/routers/s/tls", ""),
        ]),
    )
    .unwrap()
    .http
    .unwrap();
    assert!(http.routers["r"].tls.is_some() && http.routers["s"].tls.is_some());
}

#[test]
fn bad_values_name_their_key_every_one() {
    let errs = errors(&[
        ("traefik/http/routers/r/priority", "high"),
        ("traefik/http/routers/r/rule", "Path(`/`)"),
        ("traefik/http/routers/r/bogus", "1"),
        ("traefik/http/services/s/loadBalancer/passHostHeader", "yes"),
        (
            "traefik/http/services/s/loadBalancer/servers/0/weight",
            "-1",
        ),
        (
            "traefik/http/services/s/loadBalancer/healthCheck/interval",
            "soon",
        ),
    ]);
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "traefik/http/routers/r/bogus",
            "traefik/http/routers/r/priority",
            "traefik/http/services/s/loadBalancer/healthCheck/interval",
            "traefik/http/services/s/loadBalancer/passHostHeader",
            "traefik/http/services/s/loadBalancer/servers/0/weight",
        ],
        "{errs:?}"
    );
    assert!(errs[0].reason.contains("unknown field `bogus`"), "{errs:?}");
    assert!(
        errs[1].reason.contains("invalid integer \"high\""),
        "{errs:?}"
    );
    assert!(errs[2].reason.contains("invalid duration"), "{errs:?}");
    assert!(
        errs[3].reason.contains("invalid boolean \"yes\""),
        "{errs:?}"
    );
}

#[test]
fn value_where_a_table_is_expected_and_back() {
    let errs = errors(&[("traefik/http/routers", "x")]);
    assert_eq!(errs[0].key, "traefik/http/routers");
    assert!(errs[0].reason.contains("expected a table"), "{errs:?}");
    let errs = errors(&[("traefik/http/routers/r/rule/x", "Path(`/`)")]);
    assert_eq!(errs[0].key, "traefik/http/routers/r/rule");
    assert!(errs[0].reason.contains("expected a value"), "{errs:?}");
    let errs = errors(&[(
        "traefik/http/services/s/loadBalancer/servers/url",
        "http://a",
    )]);
    assert!(errs[0].reason.contains("expected a list"), "{errs:?}");
}

#[test]
fn source_fingerprint_follows_pairs_and_errors_name_the_store() {
    let a = pairs(&[("traefik/http/routers/r/rule", "Path(`/`)")]);
    let b = pairs(&[("traefik/http/routers/r/rule", "Path(`/b`)")]);
    assert_ne!(
        source("redis", "traefik", &a).text,
        source("redis", "traefik", &b).text
    );
    let bad = source(
        "redis",
        "traefik",
        &pairs(&[("traefik/http/routers/r/priority", "x")]),
    );
    let errs = bad.parsed.unwrap_err();
    assert_eq!(errs[0].file, "redis");
    assert_eq!(errs[0].key, "traefik/http/routers/r/priority");
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,8}"
}

fn text() -> impl Strategy<Value = String> {
    // Commas are excluded: a one-item list written as one value splits on them.
    "[ -+\\--~]{0,12}"
}

proptest! {
    /// Random routers and services, written as a file and as pairs, decode alike
    /// (an empty list has no pairs, so lists here have one item or more).
    #[test]
    fn random_documents_round_trip(
        routers in proptest::collection::btree_map(
            name(),
            (text(), name(), proptest::collection::vec(name(), 1..4), any::<i32>()),
            0..4,
        ),
        services in proptest::collection::btree_map(
            name(),
            (proptest::collection::vec((text(), 1u32..9), 1..4), any::<bool>()),
            0..4,
        ),
    ) {
        let mut src = String::new();
        for (n, (rule, svc, eps, prio)) in &routers {
            let eps: Vec<String> = eps.iter().map(|e| format!("{e:?}")).collect();
            src += &format!(
                "[http.routers.{n:?}]\nrule = {rule:?}\nservice = {svc:?}\nentryPoints = [{}]\npriority = {prio}\n",
                eps.join(",")
            );
        }
        for (n, (servers, pass)) in &services {
            src += &format!("[http.services.{n:?}.loadBalancer]\npassHostHeader = {pass}\n");
            for (url, w) in servers {
                src += &format!("[[http.services.{n:?}.loadBalancer.servers]]\nurl = {url:?}\nweight = {w}\n");
            }
        }
        // Names differing only in case are one key in a store (Traefik merges them).
        let lower: std::collections::BTreeSet<String> =
            routers.keys().chain(services.keys()).map(|n| n.to_lowercase()).collect();
        prop_assume!(lower.len() == routers.len() + services.len());
        same(&src);
    }
}
