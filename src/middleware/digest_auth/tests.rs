//! digestAuth over hand-made requests: a full exchange, each refusal, the
//! stale answer for an expired nonce, and the user header / header removal.

use super::*;
use crate::router::HeaderLookup;

/// `test:traefik:test` as Traefik's tests define it.
const TEST_HA1: &str = "a2688e031edb4be6a3797f3882655c05";
const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

struct Auth(String);
impl HeaderLookup for Auth {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        name.eq_ignore_ascii_case("authorization") && f(self.0.as_bytes())
    }
}

fn auth(header_field: Option<&str>, remove_header: bool) -> DigestAuth {
    let users = [(b"test"[..].into(), TEST_HA1.as_bytes().into())].into();
    DigestAuth::new(
        users,
        "traefik",
        header_field.map(Into::into),
        remove_header,
    )
}

fn hex(parts: &[&str]) -> String {
    let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    String::from_utf8(md5_hex(&parts).to_vec()).unwrap()
}

/// What a client answers to a challenge with `nonce`.
fn credential(m: &DigestAuth, user: &str, pass: &str, uri: &str, nonce: &str) -> String {
    let ha1 = hex(&[user, "traefik", pass]);
    let ha2 = hex(&["GET", uri]);
    let response = hex(&[&ha1, nonce, "00000001", "c0ffee", "auth", &ha2]);
    format!(
        "Digest username=\"{user}\", realm=\"traefik\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm=MD5, response=\"{response}\", opaque=\"{}\", qop=auth, nc=00000001, \
         cnonce=\"c0ffee\"",
        m.opaque
    )
}

/// Runs `m` on `GET <path>?<query>` with `authorization` at `now`.
fn run(m: &DigestAuth, path: &str, query: &str, authorization: Option<String>, now: u64) -> Edits {
    let headers = Auth(authorization.unwrap_or_default());
    let req = RequestInfo {
        method: b"GET",
        host: b"h",
        path: path.as_bytes(),
        query: query.as_bytes(),
        client_ip: "127.0.0.1".parse().unwrap(),
        headers: &headers,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    };
    let mut e = Edits::default();
    let flow = m.apply_at(&req, &mut e, now);
    assert_eq!(flow == Flow::Answer, e.answered().is_some());
    e
}

fn challenge(e: &Edits) -> String {
    let (_, _, v) = e
        .response_edits()
        .find(|(_, n, _)| n.eq_ignore_ascii_case(b"WWW-Authenticate"))
        .expect("a challenge");
    String::from_utf8(v.to_vec()).unwrap()
}

fn nonce_of(challenge: &str) -> String {
    let at = challenge.find("nonce=\"").unwrap() + 7;
    challenge[at..at + nonce::LEN].to_string()
}

#[test]
fn challenge_then_answer() {
    let m = auth(None, false);
    let e = run(&m, "/", "", None, T0);
    assert_eq!(e.answered(), Some((401, &b"401 Unauthorized\n"[..])));
    let c = challenge(&e);
    let n = nonce_of(&c);
    assert_eq!(
        c,
        format!(
            "Digest realm=\"traefik\", nonce=\"{n}\", opaque=\"{}\", algorithm=\"MD5\", qop=\"auth\"",
            m.opaque
        )
    );
    let e = run(
        &m,
        "/a",
        "x=1",
        Some(credential(&m, "test", "test", "/a?x=1", &n)),
        T0 + SEC,
    );
    assert_eq!(e.answered(), None);
    // The URI may be a path prefix of the request's, as go-http-auth allows.
    let e = run(
        &m,
        "/a/b",
        "",
        Some(credential(&m, "test", "test", "/a", &n)),
        T0,
    );
    assert_eq!(e.answered(), None);
    let e = run(
        &m,
        "/b",
        "",
        Some(credential(&m, "test", "test", "/a", &n)),
        T0,
    );
    assert!(e.answered().is_some(), "another path");
}

#[test]
fn wrong_credentials_and_forged_nonces_are_refused() {
    let m = auth(None, false);
    let n = nonce_of(&challenge(&run(&m, "/", "", None, T0)));
    for cred in [
        credential(&m, "test", "nope", "/", &n),
        credential(&m, "nobody", "test", "/", &n),
        credential(
            &m,
            "test",
            "test",
            "/",
            &n.replace(&n[40..], "0000000000000000"),
        ),
        credential(&m, "test", "test", "/", "deadbeef"),
        credential(&m, "test", "test", "/", &n).replace("qop=auth", "qop=auth-int"),
        credential(&m, "test", "test", "/", &n).replace("algorithm=MD5", "algorithm=SHA-256"),
        credential(&m, "test", "test", "/", &n).replace(&m.opaque, "other"),
        credential(&m, "test", "test", "/", &n).replace("nc=00000001", "nc=zz"),
        credential(&m, "test", "test", "/", &n).replace("Digest ", "digest "),
    ] {
        let e = run(&m, "/", "", Some(cred.clone()), T0);
        assert_eq!(e.answered().map(|a| a.0), Some(401), "{cred}");
        assert!(!challenge(&e).contains("stale"), "{cred}");
    }
    // A nonce from the future (not issued by us at a sane time).
    let later = String::from_utf8(nonce::issue(T0 + 60 * SEC, b"traefik").to_vec()).unwrap();
    let e = run(
        &m,
        "/",
        "",
        Some(credential(&m, "test", "test", "/", &later)),
        T0,
    );
    assert!(e.answered().is_some());
    // Another realm's nonce.
    let other = String::from_utf8(nonce::issue(T0, b"other").to_vec()).unwrap();
    let e = run(
        &m,
        "/",
        "",
        Some(credential(&m, "test", "test", "/", &other)),
        T0,
    );
    assert!(e.answered().is_some());
}

#[test]
fn an_expired_nonce_with_right_credentials_is_stale() {
    let m = auth(None, false);
    let n = nonce_of(&challenge(&run(&m, "/", "", None, T0)));
    let late = T0 + nonce::TTL.as_nanos() as u64 + SEC;
    let e = run(
        &m,
        "/",
        "",
        Some(credential(&m, "test", "test", "/", &n)),
        late,
    );
    let c = challenge(&e);
    assert!(
        c.ends_with(&format!(
            "\", opaque=\"{}\", stale=\"true\", algorithm=\"MD5\", qop=\"auth\"",
            m.opaque
        )),
        "{c}"
    );
    assert_ne!(nonce_of(&c), n, "a new nonce");
    // Wrong password over the same expired nonce: not stale, just refused.
    let e = run(
        &m,
        "/",
        "",
        Some(credential(&m, "test", "bad", "/", &n)),
        late,
    );
    assert!(!challenge(&e).contains("stale"));
    // The fresh nonce works at that time.
    let fresh = nonce_of(&c);
    let e = run(
        &m,
        "/",
        "",
        Some(credential(&m, "test", "test", "/", &fresh)),
        late,
    );
    assert_eq!(e.answered(), None);
}

#[test]
fn user_header_and_removal() {
    let m = auth(Some("X-WebAuth-User"), true);
    let n = nonce_of(&challenge(&run(&m, "/", "", None, T0)));
    let e = run(
        &m,
        "/",
        "",
        Some(credential(&m, "test", "test", "/", &n)),
        T0,
    );
    let edits: Vec<(HeaderOp, Vec<u8>, Vec<u8>)> = e
        .request_edits()
        .map(|(op, n, v)| (op, n.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(
        edits,
        [
            (HeaderOp::Set, b"X-WebAuth-User".to_vec(), b"test".to_vec()),
            (HeaderOp::Remove, b"Authorization".to_vec(), Vec::new()),
        ]
    );
}

#[test]
fn nonces_verify_across_instances_of_the_process() {
    // A reload builds a new middleware: the same key and opaque still hold.
    let (a, b) = (auth(None, false), auth(None, false));
    assert_eq!(a.opaque, b.opaque);
    let n = nonce_of(&challenge(&run(&a, "/", "", None, T0)));
    let e = run(
        &b,
        "/",
        "",
        Some(credential(&b, "test", "test", "/", &n)),
        T0,
    );
    assert_eq!(e.answered(), None);
}
