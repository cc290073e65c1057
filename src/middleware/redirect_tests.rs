//! Redirects on the cases Traefik's redirect tests pin down. A table URL's
//! scheme is the connection's (TLS for `https`), its authority the Host.

use super::*;
use crate::router::HeaderLookup;

/// (scheme, port, URL, X-Forwarded-Proto, status or 0, Location)
type SchemeCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    u16,
    &'static str,
);
/// (regex, replacement, permanent, method, URL, X-Forwarded-Proto, status or 0, Location)
type RegexCase = (
    &'static str,
    &'static str,
    bool,
    &'static str,
    &'static str,
    Option<&'static str>,
    u16,
    &'static str,
);

struct Hdrs(Vec<(&'static str, &'static str)>);
impl HeaderLookup for Hdrs {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| f(v.as_bytes()))
    }
}

/// (status or 0 for "went on", Location)
fn run(
    apply: impl Fn(&RequestInfo<'_>, &mut Edits) -> Flow,
    method: &str,
    url: &str,
    xfp: Option<&'static str>,
) -> (u16, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let split = rest.find('/').unwrap_or(rest.len());
    let (host, target) = rest.split_at(split);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = Hdrs(xfp.map(|v| ("X-Forwarded-Proto", v)).into_iter().collect());
    let req = RequestInfo {
        method: method.as_bytes(),
        host: host.as_bytes(),
        path: path.as_bytes(),
        query: query.as_bytes(),
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &headers,
        tls: scheme == "https",
        forwarded_trusted: true,
        client_certs: None,
    };
    let mut e = Edits::default();
    if apply(&req, &mut e) == Flow::Next {
        assert!(e.answered().is_none() && e.is_empty());
        return (0, String::new());
    }
    let (status, body) = e.answered().unwrap();
    assert_eq!(body, status_text(status).unwrap().as_bytes());
    let loc = e
        .response_edits()
        .find(|(op, n, _)| *op == HeaderOp::Set && *n == b"Location")
        .map(|(_, _, v)| String::from_utf8(v.to_vec()).unwrap())
        .unwrap_or_default();
    (status, loc)
}

fn scheme(s: &str, port: &str, permanent: bool) -> RedirectScheme {
    let default = (s == "http" && port == "80") || (s == "https" && port == "443");
    let port = if port.is_empty() || default {
        String::new()
    } else {
        format!(":{port}")
    };
    RedirectScheme {
        scheme: s.into(),
        port,
        permanent,
    }
}

#[test]
fn redirect_scheme_table() {
    let cases: &[SchemeCase] = &[
        ("https", "", "http://foo", None, 302, "https://foo"),
        ("https", "", "http://foo", Some("http"), 302, "https://foo"),
        ("https", "", "http://foo", Some("https"), 0, ""),
        ("https", "", "http://foo", Some("bar"), 302, "https://foo"),
        ("https", "", "http://foo", Some("ws"), 302, "https://foo"),
        ("https", "", "http://foo", Some("wss"), 0, ""),
        ("https", "", "http://foo:8080", None, 302, "https://foo"),
        ("https", "8443", "http://foo", None, 302, "https://foo:8443"),
        (
            "https",
            "8443",
            "http://foo:8000",
            None,
            302,
            "https://foo:8443",
        ),
        (
            "https",
            "8443",
            "https://foo:8000",
            None,
            302,
            "https://foo:8443",
        ),
        ("https", "", "https://foo:8000", None, 302, "https://foo"),
        (
            "https",
            "",
            "https://foo:8000/theother",
            None,
            302,
            "https://foo/theother",
        ),
        ("http", "80", "http://foo:80", None, 0, ""),
        ("https", "443", "https://foo:443", None, 0, ""),
        ("https", "", "https://foo/x?y=1", None, 0, ""),
        ("wss", "9443", "http://foo", None, 302, "wss://foo:9443"),
        ("wss", "", "http://foo", None, 302, "wss://foo"),
        ("wss", "", "http://foo:5678", None, 302, "wss://foo"),
        ("https", "", "http://foo:443", None, 302, "https://foo"),
        (
            "http",
            "8181",
            "http://foo:8080",
            None,
            302,
            "http://foo:8181",
        ),
        ("https", "", "https://foo:80", None, 302, "https://foo"),
        ("https", "", "http://[::1]", None, 302, "https://[::1]"),
        (
            "https",
            "8443",
            "http://[::1]",
            None,
            302,
            "https://[::1]:8443",
        ),
        ("https", "", "http://[::1]:80", None, 302, "https://[::1]"),
        (
            "https",
            "8443",
            "http://[::1]:80",
            None,
            302,
            "https://[::1]:8443",
        ),
        (
            "https",
            "",
            "http://foo/a/b?c=d",
            None,
            302,
            "https://foo/a/b?c=d",
        ),
    ];
    for &(s, port, url, xfp, status, loc) in cases {
        let m = scheme(s, port, false);
        let got = run(|r, e| m.apply(r, e), "GET", url, xfp);
        assert_eq!(got, (status, loc.to_string()), "{s} {port} {url} {xfp:?}");
    }
}

#[test]
fn redirect_status_by_method_and_permanent() {
    for (permanent, method, status) in [
        (false, "GET", 302),
        (false, "POST", 307),
        (false, "HEAD", 307),
        (true, "GET", 301),
        (true, "POST", 308),
    ] {
        let m = scheme("https", "8443", permanent);
        let got = run(|r, e| m.apply(r, e), method, "http://foo", None);
        assert_eq!(
            got,
            (status, "https://foo:8443".into()),
            "{method} {permanent}"
        );
    }
}

#[test]
fn untrusted_peer_x_forwarded_proto_is_ignored() {
    let m = scheme("https", "", false);
    let headers = Hdrs(vec![("X-Forwarded-Proto", "https")]);
    let req = RequestInfo {
        method: b"GET",
        host: b"foo",
        path: b"/",
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &headers,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    };
    let mut e = Edits::default();
    assert_eq!(m.apply(&req, &mut e), Flow::Answer);
}

fn regex(re: &str, replacement: &str, permanent: bool) -> RedirectRegex {
    RedirectRegex {
        regex: Regex::new(re).unwrap(),
        replacement: replacement.into(),
        permanent,
    }
}

#[test]
fn redirect_regex_table() {
    let www = r"(https?)://[^/:]+(:[0-9]+)?/(.*)";
    let cases: &[RegexCase] = &[
        (
            r"^(?:http?://)(foo)(\.com)(:\d+)(.*)$",
            "https://${1}bar$2:443$4",
            false,
            "GET",
            "http://foo.com:80",
            None,
            302,
            "https://foobar.com:443",
        ),
        (
            r"^(?:http?://)(foo)(\.com)(:\d+)(.*)$",
            "https://${1}bar$2:443$4",
            false,
            "GET",
            "http://bar.com:80",
            None,
            0,
            "",
        ),
        (
            r"^(.*)$",
            "http://192.168.0.%31/",
            false,
            "GET",
            "http://foo.com:80",
            None,
            502,
            "",
        ),
        (
            r"^http://",
            "https://$1",
            true,
            "GET",
            "http://foo",
            None,
            301,
            "https://foo",
        ),
        (
            r"https://foo",
            "http://foo",
            true,
            "GET",
            "https://foo",
            None,
            301,
            "http://foo",
        ),
        (
            r"http://foo:80",
            "https://foo:443",
            false,
            "GET",
            "http://foo:80",
            None,
            302,
            "https://foo:443",
        ),
        (
            r"http://foo:80",
            "https://foo:443",
            false,
            "GET",
            "http://foo:80",
            Some("https"),
            302,
            "https://foo:443",
        ),
        (
            r"https://foo:443",
            "http://foo:80",
            false,
            "GET",
            "https://foo:443",
            None,
            302,
            "http://foo:80",
        ),
        (
            r"http://foo:80",
            "http://foo:88",
            false,
            "GET",
            "http://foo:80",
            None,
            302,
            "http://foo:88",
        ),
        (
            r"^http://",
            "https://$1",
            false,
            "POST",
            "http://foo",
            None,
            307,
            "https://foo",
        ),
        (
            www,
            "$1://example.com$2/$3",
            true,
            "GET",
            "http://www.example.com/path",
            None,
            301,
            "http://example.com/path",
        ),
        (
            www,
            "$1://example.com$2/$3",
            true,
            "GET",
            "http://www.example.com:8080/path",
            None,
            301,
            "http://example.com:8080/path",
        ),
        (
            www,
            "$1://example.com$2/$3",
            true,
            "GET",
            "http://www.example.com/",
            None,
            301,
            "http://example.com/",
        ),
        (
            www,
            "$1://example.com$2/$3",
            true,
            "GET",
            "https://www.example.com/path",
            None,
            301,
            "https://example.com/path",
        ),
        (
            r"^http://",
            "https://$1",
            true,
            "POST",
            "http://foo",
            None,
            308,
            "https://foo",
        ),
        // A match that changes nothing goes on.
        (
            r"^http://foo/(.*)",
            "http://foo/$1",
            false,
            "GET",
            "http://foo/a?b",
            None,
            0,
            "",
        ),
    ];
    for &(re, rep, permanent, method, url, xfp, status, loc) in cases {
        let m = regex(re, rep, permanent);
        let got = run(|r, e| m.apply(r, e), method, url, xfp);
        assert_eq!(got, (status, loc.to_string()), "{re} {rep} {url}");
    }
}
