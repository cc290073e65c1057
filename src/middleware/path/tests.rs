//! Path middlewares on the cases Traefik's own tests pin down.

use super::*;
use crate::router::HeaderLookup;

struct NoHeaders;
impl HeaderLookup for NoHeaders {
    fn any_value(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        false
    }
}

fn req(path: &str) -> RequestInfo<'_> {
    RequestInfo {
        method: b"GET",
        host: b"h",
        path: path.as_bytes(),
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &NoHeaders,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    }
}

/// (status or 0 for "forwarded", forwarded path, X-Forwarded-Prefix / X-Replaced-Path)
fn run(path: &str, f: impl Fn(&RequestInfo<'_>, &mut Edits) -> Flow) -> (u16, String, String) {
    let mut e = Edits::default();
    let r = req(path);
    let flow = f(&r, &mut e);
    let status = match flow {
        Flow::Answer => e.answered().unwrap().0,
        Flow::Next | Flow::Call(_) => 0,
    };
    let path = String::from_utf8(e.path(r.path).to_vec()).unwrap();
    let header = e
        .request_edits()
        .map(|(_, _, v)| String::from_utf8_lossy(v).into_owned())
        .collect::<Vec<_>>()
        .join(",");
    (status, path, header)
}

/// Prefixes, request path, then (status or 0, forwarded path, X-Forwarded-Prefix).
type StripCase = (
    &'static [&'static str],
    &'static str,
    (u16, &'static str, &'static str),
);

fn strip(prefixes: &[&str]) -> StripPrefix {
    StripPrefix {
        prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn strip_prefix_traefik_cases() {
    let cases: &[StripCase] = &[
        (&[], "/noprefixes", (0, "/noprefixes", "")),
        (&["/"], "/", (0, "", "/")),
        (&["/stat"], "/stat", (0, "", "/stat")),
        (&["/stat/"], "/stat/", (0, "", "/stat/")),
        (&["/stat/"], "/stat/us", (0, "/us", "/stat/")),
        (&["/stat/"], "/status", (0, "/status", "")),
        (&["/stat"], "/stat/", (0, "/", "/stat")),
        (&["/stat", "/stat/us"], "/stat/us", (0, "/us", "/stat")),
        (&["/mismatch", "/stat"], "/stat", (0, "", "/stat")),
        // A plain prefix: `/stat` strips `/status` too, as in Traefik.
        (&["/stat"], "/status", (0, "/us", "/stat")),
        (&["/api"], "/apiv2/x", (0, "/v2/x", "/api")),
        (&["/stat"], "/stat/a%2Fb", (0, "/a%2Fb", "/stat")),
        (&["/api/"], "/ap%69/a%2Fb", (0, "/a%2Fb", "/api/")),
        (&["/api"], "/api./foo", (400, "", "")),
        (&["/api"], "/api../foo", (400, "", "")),
    ];
    for (prefixes, path, want) in cases {
        let m = strip(prefixes);
        let got = run(path, |r, e| m.apply(r, e));
        let want = (want.0, want.1.to_string(), want.2.to_string());
        if want.0 == 400 {
            assert_eq!(got.0, 400, "{prefixes:?} {path}");
        } else {
            assert_eq!(got, want, "{prefixes:?} {path}");
        }
    }
}

#[test]
fn strip_prefix_regex_takes_the_match_at_the_start() {
    let m = StripPrefixRegex {
        regex: vec![
            Regex::new("/a/api/").unwrap(),
            Regex::new("/b/([a-z0-9]+)/").unwrap(),
        ],
    };
    assert_eq!(
        run("/a/api/test", |r, e| m.apply(r, e)),
        (0, "/test".into(), "/a/api/".into())
    );
    assert_eq!(
        run("/b/api123/x", |r, e| m.apply(r, e)),
        (0, "/x".into(), "/b/api123/".into())
    );
    // A match that is not at the start strips nothing.
    assert_eq!(
        run("/x/b/api/y", |r, e| m.apply(r, e)),
        (0, "/x/b/api/y".into(), "".into())
    );
    assert_eq!(run("/a/api/../x", |r, e| m.apply(r, e)).0, 400);
}

#[test]
fn add_prefix_and_replace_path() {
    let add = AddPrefix {
        prefix: "/api".into(),
    };
    assert_eq!(
        run("/x", |r, e| add.apply(r, e)),
        (0, "/api/x".into(), "".into())
    );
    let add = AddPrefix {
        prefix: "v1".into(),
    };
    assert_eq!(
        run("/x", |r, e| add.apply(r, e)),
        (0, "/v1/x".into(), "".into())
    );
    let rep = ReplacePath {
        path: "/foo".into(),
    };
    assert_eq!(
        run("/a%20b", |r, e| rep.apply(r, e)),
        (0, "/foo".into(), "/a%20b".into())
    );
}

#[test]
fn replace_path_regex_expands_groups_and_checks_the_result() {
    let m = ReplacePathRegex {
        regex: Regex::new("^/foo/(.*)").unwrap(),
        replacement: "/bar/$1".into(),
    };
    assert_eq!(
        run("/foo/x/y", |r, e| m.apply(r, e)),
        (0, "/bar/x/y".into(), "/foo/x/y".into())
    );
    assert_eq!(
        run("/other", |r, e| m.apply(r, e)),
        (0, "/other".into(), "".into())
    );
    let bad = ReplacePathRegex {
        regex: Regex::new("^/foo").unwrap(),
        replacement: "/%zz".into(),
    };
    assert_eq!(run("/foo", |r, e| bad.apply(r, e)).0, 500);
    let dots = ReplacePathRegex {
        regex: Regex::new("^/foo").unwrap(),
        replacement: "/../x".into(),
    };
    assert_eq!(run("/foo", |r, e| dots.apply(r, e)).0, 400);
}

#[test]
fn chained_rewrites_see_each_other() {
    let mut e = Edits::default();
    let r = req("/api/users");
    strip(&["/api"]).apply(&r, &mut e);
    AddPrefix {
        prefix: "/v2".into(),
    }
    .apply(&r, &mut e);
    assert_eq!(e.rewritten_path(), Some(&b"/v2/users"[..]));
}
