//! Every middleware type proxyd runs, on one router over TLS, in one request:
//! the guards let it through (IP lists, redirects that do not apply over
//! HTTPS, basicAuth), the path middlewares compose in chain order, a `chain`
//! contributes its members, and the header middlewares edit both heads.
//! digestAuth sits on a second router of the same file: it and basicAuth both
//! read the one Authorization header, so no request can satisfy both.

use std::io::{Read, Write};

use base64::Engine;

use crate::common::config::{lb_service, router};
use crate::common::*;

const DEFINITIONS: &str = r#"
[http.middlewares.allow.ipAllowList]
sourceRange = ["127.0.0.1/32"]
[http.middlewares.white.ipWhiteList]
sourceRange = ["127.0.0.0/8"]
[http.middlewares.to-https.redirectScheme]
scheme = "https"
[http.middlewares.moved.redirectRegex]
regex = "^https://old\\.test/(.*)"
replacement = "https://new.test/${1}"
[http.middlewares.staff.basicAuth]
# test:test (apr1)
users = ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
removeHeader = true
[http.middlewares.hdr.headers]
frameDeny = true
stsSeconds = 60
[http.middlewares.hdr.headers.customRequestHeaders]
X-Req = "1"
[http.middlewares.hdr.headers.customResponseHeaders]
X-Resp = "1"
[http.middlewares.strip.stripPrefix]
prefixes = ["/api"]
[http.middlewares.strip-version.stripPrefixRegex]
regex = ["^/v[0-9]+"]
[http.middlewares.base.addPrefix]
prefix = "/base"
[http.middlewares.final.replacePathRegex]
regex = "^/base/(.*)"
replacement = "/final/$1"
[http.middlewares.replace.replacePath]
path = "/replaced"
[http.middlewares.sniff.contentType]
[http.middlewares.certs.passTLSClientCert]
pem = true
[http.middlewares.more.chain]
middlewares = ["hdr2"]
[http.middlewares.hdr2.headers.customRequestHeaders]
X-Chain = "1"
[http.middlewares.digest.digestAuth]
users = ["test:traefik:a2688e031edb4be6a3797f3882655c05"]
"#;

const CHAIN: &[&str] = &[
    "allow",
    "white",
    "to-https",
    "moved",
    "staff",
    "hdr",
    "strip",
    "strip-version",
    "base",
    "final",
    "sniff",
    "certs",
    "more",
];

fn config(up: &Upstream) -> String {
    let list: Vec<String> = CHAIN.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "{}middlewares = [{}]\n[http.routers.r.tls]\n{}middlewares = [\"digest\", \"replace\"]\n\
         [http.routers.d.tls]\n{}{DEFINITIONS}{}",
        router("r", "Host(`a.test`)", "s"),
        list.join(", "),
        router("d", "Host(`d.a.test`)", "s"),
        lb_service("s", &[up.url()]),
        crate::tls::certs_toml(true),
    )
}

/// Sends `raw` over TLS to `host` and returns the response text.
fn exchange(p: &Proxy, host: &str, raw: &str) -> String {
    let cfg = crate::tls::pki::client_config(crate::tls::pki::Opts::default());
    let mut s = crate::tls::pki::connect(p.addr(), host, cfg).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn every_middleware_type_on_one_router_serves_one_request() {
    let site = crate::tls::Site::new();
    let up = Upstream::echo("up");
    let p = crate::tls::start_with(&site, &config(&up), |c| c);
    let auth = base64::engine::general_purpose::STANDARD.encode("test:test");
    let raw = format!(
        "GET /api/v2/item?q=1 HTTP/1.1\r\nHost: a.test\r\nAuthorization: Basic {auth}\r\n\
         Connection: close\r\n\r\n"
    );
    let out = exchange(&p, "a.test", &raw);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let head = out.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(head.contains("\r\nx-resp: 1\r\n"), "{head}");
    assert!(head.contains("\r\nx-frame-options: deny\r\n"), "{head}");
    assert!(
        head.contains("\r\nstrict-transport-security: max-age=60\r\n"),
        "{head}"
    );

    let seen = up.only_request();
    assert_eq!(seen.target, "/final/item?q=1");
    assert_eq!(seen.headers_named("X-Req"), ["1"]);
    assert_eq!(seen.headers_named("X-Chain"), ["1"]);
    assert!(!seen.has_header("Authorization"), "{:?}", seen.headers);
    assert!(seen.has_header("X-Forwarded-Prefix"), "{:?}", seen.headers);
    assert!(
        !seen.has_header("X-Forwarded-Tls-Client-Cert"),
        "no client certificate"
    );

    // Without credentials the chain stops at basicAuth, before the upstream.
    let out = exchange(
        &p,
        "a.test",
        "GET /api/x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert_eq!(up.requests().len(), 1);

    // The second router: digestAuth challenges, then replacePath would apply.
    let out = exchange(
        &p,
        "d.a.test",
        "GET /x HTTP/1.1\r\nHost: d.a.test\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(out.contains("Digest realm=\"traefik\""), "{out}");
}
