//! The headers middleware on the cases Traefik's tests pin down (custom
//! headers, CORS preflights and responses, the secure headers, allowedHosts),
//! plus the configurations refused at compile time.

use super::*;
use crate::middleware::{Edits, Flow, RequestInfo};
use crate::router::HeaderLookup;

struct Hs(Vec<(&'static str, &'static str)>);
impl HeaderLookup for Hs {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| f(v.as_bytes()))
    }
}

fn build(toml_text: &str) -> mw::Headers {
    compile(&toml::from_str::<RawHeaders>(toml_text).unwrap()).unwrap()
}

fn refused(toml_text: &str) -> (String, String) {
    compile(&toml::from_str::<RawHeaders>(toml_text).unwrap()).unwrap_err()
}

struct Out {
    /// Status when answered here, 0 when forwarded.
    status: u16,
    /// Response head after the edits, sorted `name: value` lines.
    response: Vec<String>,
    /// Request edits as `op name: value`.
    request: Vec<String>,
}

/// Runs `h` on a request, then applies the response edits to an upstream (or
/// local) response carrying `upstream` headers.
fn run(h: &mw::Headers, method: &str, tls: bool, hs: Hs, upstream: &[&str]) -> Out {
    run_host(h, method, tls, hs, upstream, "app.test")
}

fn run_host(h: &mw::Headers, method: &str, tls: bool, hs: Hs, up: &[&str], host: &str) -> Out {
    let req = RequestInfo {
        method: method.as_bytes(),
        host: host.as_bytes(),
        path: b"/foo",
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &hs,
        tls,
        forwarded_trusted: false,
        client_certs: None,
    };
    let mut e = Edits::default();
    let flow = h.apply(&req, &mut e);
    let status = match flow {
        Flow::Answer => e.answered().unwrap().0,
        Flow::Next | Flow::Call(_) => 0,
    };
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for l in up {
        head.extend_from_slice(l.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    crate::middleware::apply_to_head(&e, &mut head);
    let text = String::from_utf8(head).unwrap();
    let mut response: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    response.sort();
    let request = e
        .request_edits()
        .map(|(op, n, v)| {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            format!("{op:?} {}: {}", s(n), s(v))
        })
        .collect();
    Out {
        status,
        response,
        request,
    }
}

fn origin() -> Hs {
    Hs(vec![("Origin", "https://foo.bar.org")])
}

fn preflight_headers() -> Hs {
    Hs(vec![
        ("Access-Control-Request-Headers", "origin"),
        ("Access-Control-Request-Method", "GET"),
        ("Access-Control-Request-Method", "OPTIONS"),
        ("Origin", "https://foo.bar.org"),
    ])
}

#[test]
fn custom_request_headers_set_remove_and_host() {
    let h = build(
        "[customRequestHeaders]\nx-custom-request-header = \"test_request\"\nX-Gone = \"\"\nHost = \"other.test\"\n",
    );
    let out = run(&h, "GET", false, Hs(vec![]), &[]);
    assert_eq!(out.status, 0);
    assert_eq!(
        out.request,
        [
            "Set Host: other.test",
            "Remove X-Gone: ",
            "Set X-Custom-Request-Header: test_request"
        ]
    );
}

#[test]
fn custom_response_headers_set_and_delete() {
    let h = build(
        "[customResponseHeaders]\nX-Custom-Response-Header = \"test_response\"\nServer = \"\"\n",
    );
    let out = run(&h, "GET", false, Hs(vec![]), &["Server: up", "X-Keep: 1"]);
    assert_eq!(
        out.response,
        ["X-Custom-Response-Header: test_response", "X-Keep: 1"]
    );
}

#[test]
fn cors_preflights_as_traefik_answers_them() {
    let base = "accessControlAllowMethods = [\"GET\", \"OPTIONS\", \"PUT\"]\n";
    let cases: &[(&str, &[&str])] = &[
        (
            "accessControlAllowOriginList = [\"https://foo.bar.org\"]\naccessControlMaxAge = 600\n",
            &[
                "Access-Control-Allow-Methods: GET,OPTIONS,PUT",
                "Access-Control-Allow-Origin: https://foo.bar.org",
                "Access-Control-Max-Age: 600",
            ],
        ),
        (
            "accessControlAllowOriginList = [\"*\"]\n",
            &[
                "Access-Control-Allow-Methods: GET,OPTIONS,PUT",
                "Access-Control-Allow-Origin: *",
            ],
        ),
        (
            "accessControlAllowOriginList = [\"*\"]\naccessControlAllowCredentials = true\naccessControlMaxAge = 600\n",
            &[
                "Access-Control-Allow-Credentials: true",
                "Access-Control-Allow-Methods: GET,OPTIONS,PUT",
                "Access-Control-Allow-Origin: https://foo.bar.org",
                "Access-Control-Max-Age: 600",
            ],
        ),
        (
            "accessControlAllowOriginList = [\"*\"]\naccessControlAllowHeaders = [\"origin\", \"X-Forwarded-For\"]\n",
            &[
                "Access-Control-Allow-Headers: origin,X-Forwarded-For",
                "Access-Control-Allow-Methods: GET,OPTIONS,PUT",
                "Access-Control-Allow-Origin: *",
            ],
        ),
    ];
    for (cfg, want) in cases {
        let h = build(&format!("{base}{cfg}"));
        // The answer's own Content-Type is removed: Go sends none on an empty 200.
        let out = run(
            &h,
            "OPTIONS",
            false,
            preflight_headers(),
            &["Content-Type: text/plain"],
        );
        assert_eq!(out.status, 200, "{cfg}");
        assert_eq!(out.response, *want, "{cfg}");
    }
}

#[test]
fn wildcards_with_credentials_echo_the_request() {
    let h = build(
        "accessControlAllowCredentials = true\naccessControlAllowOriginList = [\"*\"]\naccessControlAllowHeaders = [\"*\"]\naccessControlAllowMethods = [\"*\"]\naccessControlExposeHeaders = [\"*\"]\n",
    );
    let out = run(&h, "OPTIONS", false, preflight_headers(), &[]);
    assert_eq!(
        out.response,
        [
            "Access-Control-Allow-Credentials: true",
            "Access-Control-Allow-Headers: origin",
            "Access-Control-Allow-Methods: GET",
            "Access-Control-Allow-Origin: https://foo.bar.org",
        ]
    );
}

#[test]
fn not_a_preflight_without_origin_or_method_or_options() {
    let h = build("accessControlAllowOriginList = [\"*\"]\n");
    for (method, hs) in [
        ("GET", preflight_headers()),
        ("OPTIONS", Hs(vec![("Origin", "https://a")])),
        (
            "OPTIONS",
            Hs(vec![("Access-Control-Request-Method", "GET")]),
        ),
    ] {
        assert_eq!(run(&h, method, false, hs, &[]).status, 0, "{method}");
    }
}

#[test]
fn cors_responses_as_traefik_sends_them() {
    let one = "accessControlAllowOriginList = [\"https://foo.bar.org\"]\n";
    let star = "accessControlAllowOriginList = [\"*\"]\n";
    let cases: &[(&str, Hs, &[&str], &[&str])] = &[
        (
            one,
            origin(),
            &[],
            &["Access-Control-Allow-Origin: https://foo.bar.org"],
        ),
        (star, origin(), &[], &["Access-Control-Allow-Origin: *"]),
        (
            "accessControlAllowOriginListRegex = [\"^https?://([a-z]+)\\\\.bar\\\\.org$\"]\n",
            origin(),
            &[],
            &["Access-Control-Allow-Origin: https://foo.bar.org"],
        ),
        (
            "accessControlAllowOriginListRegex = [\"([a-z]+)\\\\.bar\"]\n",
            origin(),
            &[],
            &["Access-Control-Allow-Origin: https://foo.bar.org"],
        ),
        (
            "accessControlAllowOriginListRegex = [\"([a-z]+)\\\\.bar\\\\.org\"]\n",
            Hs(vec![("Origin", "https://bar.org")]),
            &[],
            &[],
        ),
        (one, Hs(vec![]), &[], &[]),
        (
            "accessControlAllowOriginList = [\"*\"]\naccessControlAllowCredentials = true\n",
            origin(),
            &[],
            &[
                "Access-Control-Allow-Credentials: true",
                "Access-Control-Allow-Origin: https://foo.bar.org",
            ],
        ),
        (
            "accessControlAllowOriginList = [\"*\"]\naccessControlExposeHeaders = [\"origin\", \"X-Forwarded-For\"]\n",
            origin(),
            &[],
            &[
                "Access-Control-Allow-Origin: *",
                "Access-Control-Expose-Headers: origin,X-Forwarded-For",
            ],
        ),
        (
            star,
            origin(),
            &[
                "Access-Control-Allow-Origin: http://foo.bar.org",
                "Access-Control-Allow-Origin: x",
            ],
            &["Access-Control-Allow-Origin: *"],
        ),
    ];
    for (cfg, hs, up, want) in cases {
        let h = build(cfg);
        let out = run(&h, "GET", false, Hs(hs.0.clone()), up);
        assert_eq!(out.status, 0, "{cfg}");
        assert_eq!(out.response, *want, "{cfg}");
    }
}

#[test]
fn vary_gets_origin_once() {
    let cfg = "accessControlAllowOriginList = [\"https://foo.bar.org\"]\naddVaryHeader = true\n";
    let h = build(cfg);
    let acao = "Access-Control-Allow-Origin: https://foo.bar.org";
    for (up, want) in [
        (&[][..], "Vary: Origin"),
        (&["Vary: Testing"][..], "Vary: Testing,Origin"),
        (&["Vary: Origin"][..], "Vary: Origin"),
    ] {
        assert_eq!(run(&h, "GET", false, origin(), up).response, [acao, want]);
    }
    // A custom Vary is what Traefik appends to.
    let h = build(&format!(
        "{cfg}[customResponseHeaders]\nVary = \"Accept\"\n"
    ));
    let out = run(&h, "GET", false, origin(), &["Vary: Testing"]);
    assert_eq!(out.response, [acao, "Vary: Accept,Origin"]);
}

#[test]
fn custom_request_headers_not_hijacked_by_cors() {
    let h = build("[customRequestHeaders]\nfoo = \"bar\"\n");
    let out = run(&h, "OPTIONS", false, preflight_headers(), &[]);
    assert_eq!(out.status, 0);
    assert!(out.response.is_empty());
}

/// The security half and the refusals.
mod secure;
