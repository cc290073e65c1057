//! Rule-level tests: every matcher positive and negative, operators and
//! precedence, host normalization, and parse-error messages. Shared request
//! fixtures live here too so `table_tests` can reuse them.

use std::net::IpAddr;

use super::{HeaderLookup, RequestInfo, Rule};

pub(super) struct Headers(pub Vec<(&'static str, &'static [u8])>);

impl HeaderLookup for Headers {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| f(v))
    }
}

pub(super) static NO_HEADERS: Headers = Headers(Vec::new());

/// A GET request for `host` + `target` (path with optional `?query`).
pub(super) fn req<'a>(host: &'a str, target: &'a str) -> RequestInfo<'a> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    RequestInfo {
        method: b"GET",
        host: host.as_bytes(),
        path: path.as_bytes(),
        query: query.as_bytes(),
        client_ip: "192.0.2.1".parse().unwrap(),
        headers: &NO_HEADERS,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    }
}

fn rule(src: &str) -> Rule {
    Rule::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn m(src: &str, r: &RequestInfo<'_>) -> bool {
    rule(src).matches(r)
}

fn parse_err(src: &str) -> String {
    match Rule::parse(src) {
        Ok(r) => panic!("{src} parsed: {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn host_matcher() {
    let r = rule("Host(`Example.com`)");
    for h in [
        "example.com",
        "EXAMPLE.com",
        "example.com:8080",
        "example.com.",
        "example.com.:1",
    ] {
        assert!(r.matches(&req(h, "/")), "{h}");
    }
    for h in [
        "example.org",
        "www.example.com",
        "",
        "example.com.evil",
        "example.co",
    ] {
        assert!(!r.matches(&req(h, "/")), "{h}");
    }
    assert!(m("Host(`example.com.`)", &req("example.com", "/")));
}

#[test]
fn host_ipv6_literal() {
    for src in ["Host(`::1`)", "Host(`[::1]`)"] {
        assert!(m(src, &req("[::1]:8080", "/")), "{src}");
        assert!(m(src, &req("[::1]", "/")), "{src}");
        assert!(!m(src, &req("[::2]:8080", "/")), "{src}");
    }
    assert!(m("Host(`10.0.0.1`)", &req("10.0.0.1:80", "/")));
}

#[test]
fn host_regexp_matcher() {
    let r = rule(r"HostRegexp(`^.+\.example\.com$`)");
    assert!(r.matches(&req("api.example.com", "/")));
    assert!(r.matches(&req("api.example.com:443", "/")));
    assert!(!r.matches(&req("example.com", "/")));
    // Not anchored implicitly: the regex is used as written.
    assert!(m("HostRegexp(`example`)", &req("www.example.org", "/")));
    // Sees the host as received (case kept), like Go matching req.Host.
    assert!(!m("HostRegexp(`^a\\.com$`)", &req("A.com", "/")));
    assert!(m("HostRegexp(`(?i)^a\\.com$`)", &req("A.com", "/")));
}

#[test]
fn path_matchers() {
    assert!(m("Path(`/x`)", &req("h", "/x")));
    assert!(!m("Path(`/x`)", &req("h", "/x/")));
    assert!(!m("Path(`/x`)", &req("h", "/X")));
    assert!(m("Path(`/x`)", &req("h", "/x?q=1")));
    assert!(m("PathPrefix(`/api`)", &req("h", "/api")));
    assert!(m("PathPrefix(`/api`)", &req("h", "/apiv2/x")));
    assert!(!m("PathPrefix(`/api`)", &req("h", "/ap")));
    assert!(m("PathRegexp(`^/v[0-9]+/`)", &req("h", "/v12/x")));
    assert!(!m("PathRegexp(`^/v[0-9]+/`)", &req("h", "/v/x")));
    // Raw path: percent-escapes are not decoded.
    assert!(!m("Path(`/a b`)", &req("h", "/a%20b")));
}

#[test]
fn method_matcher() {
    assert!(m("Method(`GET`)", &req("h", "/")));
    assert!(
        m("Method(`get`)", &req("h", "/")),
        "rule value is uppercased"
    );
    assert!(!m("Method(`POST`)", &req("h", "/")));
    let mut r = req("h", "/");
    r.method = b"get";
    assert!(!m("Method(`GET`)", &r), "request method is case-sensitive");
}

#[test]
fn header_matchers() {
    let headers = Headers(vec![
        ("x-key", b"v1"),
        ("X-Key", b"other"),
        ("Accept", b"text/html"),
    ]);
    let mut r = req("h", "/");
    r.headers = &headers;
    assert!(m("Header(`X-Key`, `v1`)", &r));
    assert!(m("Header(`x-KEY`, `other`)", &r));
    assert!(!m("Header(`X-Key`, `V1`)", &r), "value is exact");
    assert!(!m("Header(`X-Missing`, `v1`)", &r));
    assert!(m("HeaderRegexp(`X-Key`, `^oth`)", &r));
    assert!(!m("HeaderRegexp(`X-Key`, `^z`)", &r));
    assert!(m("HeaderRegexp(`accept`, `html`)", &r));
}

#[test]
fn query_matchers() {
    let r = req("h", "/p?k=v&flag&name=a+b%21&k=w");
    assert!(m("Query(`k`, `v`)", &r));
    assert!(m("Query(`k`, `w`)", &r));
    assert!(!m("Query(`k`, `x`)", &r));
    assert!(m("Query(`flag`)", &r));
    assert!(m("Query(`k`)", &r), "one argument: key present");
    assert!(!m("Query(`nope`)", &r));
    assert!(m("Query(`name`, `a b!`)", &r));
    assert!(m("QueryRegexp(`k`, `^w$`)", &r));
    assert!(m("QueryRegexp(`name`, `^a b`)", &r));
    assert!(!m("QueryRegexp(`k`, `^z`)", &r));
    assert!(m("QueryRegexp(`flag`)", &r));
}

#[test]
fn client_ip_matcher() {
    let mut r = req("h", "/");
    let cases: [(&str, &str, bool); 8] = [
        ("10.0.0.0/8", "10.1.2.3", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("192.0.2.7", "192.0.2.7", true),
        ("192.0.2.7", "192.0.2.8", false),
        ("10.0.0.0/8", "::ffff:10.9.9.9", true),
        ("2001:db8::/32", "2001:db8::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("::ffff:10.0.0.0/104", "10.2.3.4", true),
    ];
    for (net, ip, want) in cases {
        r.client_ip = ip.parse::<IpAddr>().unwrap();
        assert_eq!(m(&format!("ClientIP(`{net}`)"), &r), want, "{net} vs {ip}");
    }
}

#[test]
fn operators_and_precedence() {
    let r = req("a.com", "/x");
    assert!(m("Host(`a.com`) && Path(`/x`)", &r));
    assert!(!m("Host(`a.com`) && Path(`/y`)", &r));
    assert!(m("Host(`b.com`) || Path(`/x`)", &r));
    assert!(m("!Host(`b.com`)", &r));
    assert!(!m("!Host(`a.com`)", &r));
    assert!(m("!!Host(`a.com`)", &r));
    // && binds tighter than ||: true || (false && false).
    assert!(m("Host(`a.com`) || Host(`b.com`) && Path(`/y`)", &r));
    // Parentheses override: (true || false) && false.
    assert!(!m("(Host(`a.com`) || Host(`b.com`)) && Path(`/y`)", &r));
    // ! binds tighter than &&: (!false) && true.
    assert!(m("!Host(`b.com`) && Path(`/x`)", &r));
    assert!(!m("!(Host(`b.com`) || Path(`/x`))", &r));
    assert!(m(" ( Host( `a.com` ) )\n&&\tPath(\"/x\") ", &r));
}

#[test]
fn double_quoted_strings() {
    let r = req("a.com", "/x");
    assert!(m(r#"Host("a.com") && PathRegexp("^/\\w")"#, &r));
    assert!(m(r#"Path("/x") || Header("q", "a\"b")"#, &r));
}

#[test]
fn parse_errors_are_clear() {
    let cases: [(&str, &str); 17] = [
        ("", "empty rule"),
        ("   ", "empty rule"),
        ("Hots(`a`)", "unknown matcher `Hots`"),
        ("Host(`a`, `b`)", "Host takes 1 argument(s), got 2"),
        ("Header(`a`)", "Header takes 2 argument(s), got 1"),
        (
            "Query(`a`, `b`, `c`)",
            "Query takes 1 or 2 argument(s), got 3",
        ),
        ("PathRegexp(`(`)", "invalid regex \"(\""),
        (
            "ClientIP(`10.0.0.0/33`)",
            "invalid IP or CIDR \"10.0.0.0/33\"",
        ),
        ("Path(`x`)", "does not start with '/'"),
        (
            "Host(`a`) &&",
            "position 12: expected a matcher, '!' or '(', found end of rule",
        ),
        (
            "Host(`a`) & Path(`/`)",
            "position 10: expected '&&', found a single '&'",
        ),
        (
            "Host(`a`",
            "position 8: expected ',' or ')' in Host(...), found end of rule",
        ),
        (
            "Host(a)",
            "position 5: expected a `quoted` argument for Host",
        ),
        ("Host('a')", "single quotes are not accepted"),
        ("(Host(`a`)", "expected ')' to close '('"),
        (
            "Host(`a`) Path(`/`)",
            "position 10: expected '&&', '||' or end of rule",
        ),
        ("Host(`a)", "position 5: unterminated `backtick` string"),
    ];
    for (src, want) in cases {
        let got = parse_err(src);
        assert!(got.contains(want), "{src:?}: got {got:?}, want {want:?}");
    }
    assert!(parse_err("Host(`ü.com`)").contains("non-ASCII"));
    assert!(parse_err("Method(``)").contains("empty method"));
}

#[test]
fn rule_metadata() {
    let src = "Host(`A.com`) && PathPrefix(`/x`)";
    let r = rule(src);
    assert_eq!(r.source(), src);
    assert_eq!(Rule::default_priority(src), src.len() as i64);
    assert_eq!(r.hosts(), Some(vec!["a.com".to_string()]));
    assert_eq!(rule("PathPrefix(`/`)").hosts(), None);
    assert_eq!(rule("!Host(`a`)").hosts(), None);
    assert_eq!(rule("Host(`a`) || Path(`/`)").hosts(), None);
    let both = rule("(Host(`a`) || Host(`b`)) && Method(`GET`)").hosts();
    assert_eq!(both, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(rule("Host(`a`) && Host(`b`)").hosts(), Some(vec![]));
}

#[test]
fn rule_is_send_sync_clone() {
    fn assert_bounds<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_bounds::<Rule>();
    assert_bounds::<std::sync::Arc<super::RouterTable>>();
}

/// Guards the parser's bounds: a rule nested a thousand deep (or a chain of
/// thousands of operators) once overflowed the stack of the thread that parsed
/// it, so one bad rule in a reload could take the process down. Now it is a
/// config error, and the largest allowed rule parses, evaluates and drops on a
/// default 2 MiB thread stack in a debug build.
#[test]
fn deep_or_long_rules_are_refused_not_a_stack_overflow() {
    use super::parse::{MAX_NESTING, MAX_OPERATORS};
    let deep = format!("{}Path(`/`){}", "(".repeat(1000), ")".repeat(1000));
    assert!(
        parse_err(&deep).contains("nested deeper than"),
        "{}",
        parse_err(&deep)
    );
    let nots = format!("{}Path(`/`)", "!".repeat(1000));
    assert!(parse_err(&nots).contains("nested deeper than"));
    let long = vec!["Path(`/x`)"; MAX_OPERATORS + 2].join(" || ");
    assert!(parse_err(&long).contains("operators in one rule"));
    let limit = format!(
        "{}{}{}",
        "(".repeat(MAX_NESTING - 1),
        vec!["Path(`/x`)"; MAX_OPERATORS].join(" && ") + " || Path(`/`)",
        ")".repeat(MAX_NESTING - 1)
    );
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let r = rule(&limit);
            assert!(m(&limit, &req("h", "/")));
            drop(r);
        })
        .unwrap()
        .join()
        .expect("the largest rule allowed fits a 2 MiB stack");
}
