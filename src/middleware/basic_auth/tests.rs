//! basicAuth over hand-made requests: Traefik's answers, the user header, the
//! header removal and the credential cache.

use super::*;
use crate::router::HeaderLookup;

/// `test:test` as Traefik's tests define it (apr1).
const TEST_APR1: &str = "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/";

struct Auth(Vec<&'static str>);
impl HeaderLookup for Auth {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        name.eq_ignore_ascii_case("authorization") && self.0.iter().any(|v| f(v.as_bytes()))
    }
}

fn auth(header_field: Option<&str>, remove_header: bool) -> BasicAuth {
    BasicAuth {
        users: [(b"test"[..].into(), Secret::parse(TEST_APR1))].into(),
        decoy: Secret::parse(TEST_APR1),
        challenge: "Basic realm=\"traefik\"".into(),
        header_field: header_field.map(Into::into),
        remove_header,
    }
}

fn run(
    m: &BasicAuth,
    values: Vec<&'static str>,
    cache: Option<&RefCell<CredentialCache>>,
) -> Edits {
    let headers = Auth(values);
    let req = RequestInfo {
        method: b"GET",
        host: b"h",
        path: b"/",
        query: b"",
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &headers,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    };
    let mut e = Edits::default();
    let flow = m.apply(&req, &mut e, cache);
    assert_eq!(flow == Flow::Answer, e.answered().is_some());
    e
}

fn strings<'a>(
    it: impl Iterator<Item = (HeaderOp, &'a [u8], &'a [u8])>,
) -> Vec<(HeaderOp, String, String)> {
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    it.map(|(op, n, v)| (op, s(n), s(v))).collect()
}

// base64("test:test") and base64("test:nope").
const GOOD: &str = "Basic dGVzdDp0ZXN0";
const BAD: &str = "Basic dGVzdDpub3Bl";

#[test]
fn missing_or_wrong_credentials_get_traefiks_401() {
    let m = auth(None, false);
    for values in [
        vec![],
        vec![BAD],
        vec!["Digest dGVzdDp0ZXN0"],
        vec!["Basic !@#"],
        vec![BAD, GOOD],
    ] {
        let e = run(&m, values.clone(), None);
        assert_eq!(
            e.answered(),
            Some((401, &b"401 Unauthorized\n"[..])),
            "{values:?}"
        );
        assert_eq!(
            strings(e.response_edits()),
            [
                (
                    HeaderOp::Set,
                    "WWW-Authenticate".into(),
                    "Basic realm=\"traefik\"".into()
                ),
                (HeaderOp::Set, "Content-Type".into(), "text/plain".into()),
            ]
        );
    }
}

#[test]
fn valid_credentials_go_on_scheme_case_insensitive() {
    let m = auth(None, false);
    for v in [GOOD, "basic dGVzdDp0ZXN0", "BASIC dGVzdDp0ZXN0"] {
        let e = run(&m, vec![v], None);
        assert!(e.answered().is_none(), "{v}");
        assert!(e.is_empty(), "{v}: nothing to change upstream");
    }
}

#[test]
fn header_field_and_remove_header() {
    let e = run(&auth(Some("X-Webauth-User"), true), vec![GOOD], None);
    assert_eq!(
        strings(e.request_edits()),
        [
            (HeaderOp::Set, "X-Webauth-User".into(), "test".into()),
            (HeaderOp::Remove, "Authorization".into(), "".into()),
        ]
    );
}

#[test]
fn the_cache_remembers_successes_only() {
    let m = auth(None, false);
    let cache = RefCell::new(CredentialCache::new());
    assert!(run(&m, vec![BAD], Some(&cache)).answered().is_some());
    assert!(cache.borrow().is_empty(), "a failure was remembered");
    assert!(run(&m, vec![GOOD], Some(&cache)).answered().is_none());
    assert_eq!(cache.borrow().len(), 1);
    assert!(run(&m, vec![GOOD], Some(&cache)).answered().is_none());
    assert!(run(&m, vec![BAD], Some(&cache)).answered().is_some());
    assert_eq!(cache.borrow().len(), 1);
}
