//! digestAuth on real requests: Traefik's challenge, a full exchange computed
//! here with MD5, each refusal (wrong password, a user of another realm, a
//! tampered nonce), a challenge answered on other connections (other workers),
//! `headerField`/`removeHeader` as the upstream sees them, `usersFile`, and a
//! nonce still accepted after a reload that changed another file.

use md5::{Digest, Md5};

use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::reload::{RELOAD_LIMIT, RELOADED};

/// `test:traefik:test` and `test2:traefik:test2` (Traefik's test users), and
/// `alien` in another realm with password `x`.
const TEST: &str = "test:traefik:a2688e031edb4be6a3797f3882655c05";
const TEST2: &str = "test2:traefik:518845800f9e2bfb1f1f740ec24f074e";
const ELSEWHERE: &str = "alien:elsewhere:aeaa5c0b63b1c6885c8dc066f60681e1";

/// Router `r` on every path through middleware `auth` (`def` is the body of
/// `[http.middlewares.auth.digestAuth]`) to `up`.
fn guarded(up: &Upstream, def: &str) -> String {
    format!(
        "{}middlewares = [\"auth\"]\n{}[http.middlewares.auth.digestAuth]\n{def}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
    )
}

fn users(list: &[&str]) -> String {
    let quoted: Vec<String> = list.iter().map(|u| format!("\"{u}\"")).collect();
    format!("users = [{}]\n", quoted.join(", "))
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The challenge's parameters, as a client reads them.
struct Challenge {
    realm: String,
    nonce: String,
    opaque: String,
}

fn param(header: &str, key: &str) -> String {
    let at = header
        .find(&format!("{key}=\""))
        .unwrap_or_else(|| panic!("{key} in {header}"));
    let rest = &header[at + key.len() + 2..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// `GET <uri>` with `extra` header lines.
fn get(c: &mut client::Client, uri: &str, extra: &str) -> client::Response {
    c.request(&format!(
        "GET {uri} HTTP/1.1\r\nHost: app.test\r\n{extra}\r\n"
    ))
}

/// A 401 with Traefik's body, type and challenge form; its parameters.
fn challenged(r: &client::Response) -> Challenge {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.text(), "401 Unauthorized\n");
    assert_eq!(r.headers_named("Content-Type"), ["text/plain"]);
    let h = r.headers_named("WWW-Authenticate");
    assert_eq!(h.len(), 1, "{h:?}");
    let ch = Challenge {
        realm: param(h[0], "realm"),
        nonce: param(h[0], "nonce"),
        opaque: param(h[0], "opaque"),
    };
    assert_eq!(
        h[0],
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", opaque=\"{}\", algorithm=\"MD5\", qop=\"auth\"",
            ch.realm, ch.nonce, ch.opaque
        )
    );
    ch
}

/// The `Authorization` line a client sends for `GET <uri>`.
fn answer(ch: &Challenge, user: &str, pass: &str, uri: &str, nc: u32) -> String {
    let ha1 = md5_hex(&format!("{user}:{}:{pass}", ch.realm));
    let ha2 = md5_hex(&format!("GET:{uri}"));
    let nc = format!("{nc:08x}");
    let cnonce = "0a4f113b";
    let response = md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", ch.nonce));
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
         algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\", \
         opaque=\"{}\"\r\n",
        ch.realm, ch.nonce, ch.opaque
    )
}

#[test]
fn a_digest_exchange_passes_and_bad_answers_are_refused() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &users(&[TEST, ELSEWHERE]))));
    let mut c = client::Client::connect(p.addr());
    let ch = challenged(&get(&mut c, "/a?x=1", ""));
    assert_eq!(ch.realm, "traefik");
    let r = get(&mut c, "/a?x=1", &answer(&ch, "test", "test", "/a?x=1", 1));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get(&mut c, "/a?x=1", &answer(&ch, "test", "test", "/a?x=1", 2));
    assert_eq!(r.status, 200, "the nonce serves more requests");
    assert_eq!(up.requests().len(), 2);

    challenged(&get(&mut c, "/", &answer(&ch, "test", "nope", "/", 3)));
    // A user of another realm, with its own right password.
    let alien = Challenge {
        realm: "elsewhere".into(),
        ..challenged(&get(&mut c, "/", ""))
    };
    challenged(&get(&mut c, "/", &answer(&alien, "alien", "x", "/", 1)));
    let mut forged = challenged(&get(&mut c, "/", ""));
    let last = if forged.nonce.ends_with('0') {
        "1"
    } else {
        "0"
    };
    forged.nonce.replace_range(forged.nonce.len() - 1.., last);
    challenged(&get(&mut c, "/", &answer(&forged, "test", "test", "/", 1)));
    // The answer for another URI does not fit this request.
    challenged(&get(&mut c, "/b", &answer(&ch, "test", "test", "/a", 4)));
    assert_eq!(
        up.requests().len(),
        2,
        "a refused request reached the upstream"
    );
}

#[test]
fn a_challenge_is_answered_on_other_connections_and_workers() {
    let up = Upstream::echo("up");
    let mut cfg = ProxyConfig::new(&guarded(&up, &users(&[TEST])));
    cfg.cores = Some(2);
    let p = Proxy::start(&cfg);
    let ch = challenged(&get(&mut client::Client::connect(p.addr()), "/", ""));
    // SO_REUSEPORT spreads connections over both workers.
    for i in 0..8 {
        let mut c = client::Client::connect(p.addr());
        let r = get(&mut c, "/", &answer(&ch, "test", "test", "/", i + 1));
        assert_eq!(r.status, 200, "connection {i}: {}", r.text());
    }
}

#[test]
fn header_field_and_remove_header() {
    let up = Upstream::echo("up");
    let def = format!(
        "{}headerField = \"X-WebAuth-User\"\nremoveHeader = true\n",
        users(&[TEST])
    );
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &def)));
    let mut c = client::Client::connect(p.addr());
    let ch = challenged(&get(&mut c, "/", "X-WebAuth-User: admin\r\n"));
    let extra = format!(
        "{}X-WebAuth-User: admin\r\n",
        answer(&ch, "test", "test", "/", 1)
    );
    assert_eq!(get(&mut c, "/", &extra).status, 200);
    let seen = up.only_request();
    assert!(!seen.has_header("Authorization"), "{:?}", seen.headers);
    assert_eq!(seen.headers_named("X-WebAuth-User"), ["test"]);

    // Without removeHeader the credential goes on.
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&guarded(&up, &users(&[TEST]))));
    let mut c = client::Client::connect(p.addr());
    let ch = challenged(&get(&mut c, "/", ""));
    assert_eq!(
        get(&mut c, "/", &answer(&ch, "test", "test", "/", 1)).status,
        200
    );
    assert!(up.only_request().has_header("Authorization"));
}

#[test]
fn users_file_and_a_nonce_that_outlives_a_reload() {
    let up = Upstream::echo("up");
    let def = format!("usersFile = \"digest.txt\"\n{}", users(&[TEST2]));
    let mut cfg = ProxyConfig::new(&guarded(&up, &def)).watched(Some("100ms"));
    cfg.dynamic
        .push(("digest.txt".into(), format!("# users\n\n{TEST}\n")));
    let p = Proxy::start(&cfg);
    let mut c = client::Client::connect(p.addr());
    let ch = challenged(&get(&mut c, "/", ""));
    assert_eq!(
        get(&mut c, "/", &answer(&ch, "test", "test", "/", 1)).status,
        200,
        "from the file"
    );
    assert_eq!(
        get(&mut c, "/", &answer(&ch, "test2", "test2", "/", 2)).status,
        200,
        "from users"
    );

    // Another file changes: the middleware is rebuilt, the nonce still holds.
    let extra = router("other", "Host(`other.test`)", "s");
    std::fs::write(p.dynamic_dir().join("other.toml"), extra).unwrap();
    assert!(
        p.wait_log(&format!("{RELOADED}2 "), RELOAD_LIMIT),
        "{}",
        p.log_text()
    );
    let mut c = client::Client::connect(p.addr());
    assert_eq!(
        get(&mut c, "/", &answer(&ch, "test", "test", "/", 3)).status,
        200
    );
}
