//! basicAuth on real requests: Traefik's 401 with the realm, each htpasswd
//! form accepted and a wrong password refused, `headerField` and
//! `removeHeader` as the upstream sees them, `usersFile` (relative to the
//! dynamic file, reloaded when it changes) and the per-worker credential cache
//! never serving a wrong password.

use std::time::Duration;

use base64::Engine;

use crate::common::config::{lb_service, router};
use crate::common::*;

/// `test:test` (Traefik's test user, apr1).
const APR1: &str = "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/";
/// `bc:hello3` (bcrypt, cost 5: cheap enough for a debug build).
const BCRYPT: &str = "bc:$2y$05$ih3C91zUBSTFcAh2mQnZYuob0UOZVEf16wl/ukgjDhjvj.xgM1WwS";
/// `sha:hello`.
const SHA: &str = "sha:{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=";
/// `md5:pass` (`$1$` MD5-crypt).
const MD5: &str = "md5:$1$YeNsbWdH$wvOF8JdqsoiLix754LTW90";

/// Router `r` on every path through middleware `auth` (defined by `def`, the
/// body of `[http.middlewares.auth.basicAuth]`) to `up`.
fn guarded(up: &Upstream, def: &str) -> String {
    format!(
        "{}middlewares = [\"auth\"]\n{}[http.middlewares.auth.basicAuth]\n{def}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
    )
}

fn users(list: &[&str]) -> String {
    let quoted: Vec<String> = list.iter().map(|u| config::toml_str(u)).collect();
    format!("users = [{}]\n", quoted.join(", "))
}

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

/// `GET /` with `extra` header lines.
fn get(c: &mut client::Client, extra: &str) -> client::Response {
    c.request(&format!("GET / HTTP/1.1\r\nHost: app.test\r\n{extra}\r\n"))
}

fn with_auth(c: &mut client::Client, user: &str, password: &str) -> client::Response {
    get(c, &format!("Authorization: {}\r\n", basic(user, password)))
}

fn assert_refused(r: &client::Response, realm: &str) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.text(), "401 Unauthorized\n");
    assert_eq!(
        r.headers_named("WWW-Authenticate"),
        [format!("Basic realm=\"{realm}\"")]
    );
    assert_eq!(r.headers_named("Content-Type"), ["text/plain"]);
}

#[test]
fn no_credentials_get_401_with_the_realm() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &users(&[APR1]))));
    let mut c = client::Client::connect(p.addr());
    assert_refused(&get(&mut c, ""), "traefik");
    assert_refused(&get(&mut c, "Authorization: Bearer abc\r\n"), "traefik");
    // The connection stays usable after a 401.
    assert_eq!(with_auth(&mut c, "test", "test").status, 200);
    assert_eq!(
        up.requests().len(),
        1,
        "a refused request reached the upstream"
    );

    let up = Upstream::echo("up");
    let def = format!("{}realm = \"staff only\"\n", users(&[APR1]));
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &def)));
    assert_refused(
        &get(&mut client::Client::connect(p.addr()), ""),
        "staff only",
    );
}

#[test]
fn every_htpasswd_form_is_accepted_and_a_wrong_password_refused() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&guarded(
        &up,
        &users(&[APR1, BCRYPT, SHA, MD5]),
    )));
    let mut c = client::Client::connect(p.addr());
    for (user, password) in [
        ("test", "test"),
        ("bc", "hello3"),
        ("sha", "hello"),
        ("md5", "pass"),
    ] {
        let r = with_auth(&mut c, user, password);
        assert_eq!(r.status, 200, "{user}: {}", r.text());
        assert_refused(&with_auth(&mut c, user, "wrong"), "traefik");
        assert_refused(&with_auth(&mut c, "nobody", password), "traefik");
    }
    assert_eq!(up.requests().len(), 4);
}

#[test]
fn header_field_carries_the_user_and_remove_header_drops_authorization() {
    let up = Upstream::echo("up");
    let def = format!("{}headerField = \"X-Webauth-User\"\n", users(&[APR1]));
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &def)));
    let mut c = client::Client::connect(p.addr());
    let auth = basic("test", "test");
    let r = get(
        &mut c,
        &format!("Authorization: {auth}\r\nX-Webauth-User: admin\r\n"),
    );
    assert_eq!(r.status, 200);
    let seen = up.only_request();
    assert_eq!(
        seen.headers_named("X-Webauth-User"),
        ["test"],
        "the client's value replaced"
    );
    assert_eq!(
        seen.headers_named("Authorization"),
        [auth.as_str()],
        "kept by default"
    );

    let up = Upstream::echo("up");
    let def = format!("{}removeHeader = true\n", users(&[APR1]));
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &def)));
    assert_eq!(
        with_auth(&mut client::Client::connect(p.addr()), "test", "test").status,
        200
    );
    let seen = up.only_request();
    assert!(!seen.has_header("Authorization"), "{:?}", seen.headers);
    assert!(!seen.has_header("X-Webauth-User"));
}

#[test]
fn users_file_relative_to_the_dynamic_file_and_reloaded_when_it_changes() {
    let up = Upstream::echo("up");
    let def = format!("usersFile = \"htpasswd\"\n{}", users(&[SHA]));
    let mut cfg = ProxyConfig::new(&guarded(&up, &def)).watched(Some("100ms"));
    cfg.dynamic
        .push(("htpasswd".into(), format!("# users\n\n{APR1}\n")));
    let p = Proxy::start(&cfg);
    let mut c = client::Client::connect(p.addr());
    assert_eq!(
        with_auth(&mut c, "test", "test").status,
        200,
        "from the file"
    );
    assert_eq!(with_auth(&mut c, "sha", "hello").status, 200, "from users");

    std::fs::write(p.dynamic_dir().join("htpasswd"), format!("{MD5}\n")).unwrap();
    let reloaded = poll_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let r = with_auth(&mut client::Client::connect(p.addr()), "md5", "pass");
        (r.status == 200).then_some(())
    });
    assert!(reloaded.is_some(), "the new users file was not loaded");
    assert_refused(&with_auth(&mut c, "test", "test"), "traefik");
}

/// A right password is remembered per worker; a wrong one for the same user
/// afterwards must still be refused, and the right one still accepted.
#[test]
fn the_credential_cache_never_serves_a_wrong_password() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &users(&[BCRYPT, APR1]))));
    let mut c = client::Client::connect(p.addr());
    for round in 0..3 {
        assert_eq!(
            with_auth(&mut c, "bc", "hello3").status,
            200,
            "round {round}"
        );
        assert_refused(&with_auth(&mut c, "bc", "hello4"), "traefik");
        assert_refused(&with_auth(&mut c, "bc", ""), "traefik");
        // Another user's right password is not this user's.
        assert_refused(&with_auth(&mut c, "bc", "test"), "traefik");
        assert_eq!(with_auth(&mut c, "test", "test").status, 200);
    }
    assert_eq!(up.requests().len(), 6);
}
