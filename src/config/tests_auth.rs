//! `basicAuth` definitions: users from `usersFile` then `users` (a later name
//! wins), the default realm, the keys named by each refusal, and the users
//! file in the reload fingerprint.

use super::compile::{Resolved, resolve};
use super::tests_dynamic::*;
use super::*;
use crate::middleware::{Middleware, Secret};

const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";
const APR1: &str = "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/";

/// Resolves what `read_dynamic` reads (the users files included).
fn resolved(st: &StaticConfig) -> (Resolved, Vec<ConfigError>) {
    let files = read_dynamic(st);
    let mut errors = files.errors;
    let r = resolve(st, files.files, &files.extra, &mut errors);
    (r, errors)
}

fn basic<'a>(r: &'a Resolved, name: &str) -> &'a crate::middleware::BasicAuth {
    let def = r.middlewares.iter().find(|m| m.name == name).unwrap();
    match &def.kind {
        Middleware::BasicAuth(b) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn users_file_then_users_and_the_default_realm() {
    let text = format!(
        "{SVC}[http.middlewares.a.basicAuth]\nusersFile = \"users/htpasswd\"\nusers = [\"bob:{{SHA}}x\"]\nheaderField = \"X-User\"\n[http.middlewares.b.basicAuth]\nusers = [\"u:{APR1}\"]\nrealm = \"inside\"\nremoveHeader = true\n"
    );
    let users = format!("# comment\n\n  alice:{APR1}  \nbob:$1$a$b\n");
    let s = setup(&[("m.toml", &text), ("users/htpasswd", &users)]);
    let (r, errors) = resolved(&s.st);
    assert!(errors.is_empty(), "{}", ConfigErrors(errors));
    let a = basic(&r, "a@file");
    assert_eq!(a.challenge, "Basic realm=\"traefik\"");
    assert_eq!(a.users.len(), 2);
    assert_eq!(a.users[&b"alice"[..]], Secret::parse(APR1));
    assert_eq!(
        a.users[&b"bob"[..]],
        Secret::parse("{SHA}x"),
        "users overrides the file"
    );
    assert_eq!(a.header_field.as_deref(), Some("X-User"));
    assert!(!a.remove_header);
    let b = basic(&r, "b@file");
    assert_eq!(b.challenge, "Basic realm=\"inside\"");
    assert!(b.remove_header);
}

#[test]
fn refusals_name_their_keys() {
    let text = format!(
        "{SVC}[http.middlewares.none.basicAuth]\n[http.middlewares.empty.basicAuth]\nusersFile = \"empty\"\n[http.middlewares.missing.basicAuth]\nusersFile = \"nope\"\n[http.middlewares.colons.basicAuth]\nusers = [\"u:{APR1}\", \"a:b:c\"]\n[http.middlewares.realm.basicAuth]\nusers = [\"u:{APR1}\"]\nrealm = \"a\\nb\"\n[http.middlewares.field.basicAuth]\nusers = [\"u:{APR1}\"]\nheaderField = \"X User\"\n"
    );
    let s = setup(&[("m.toml", &text), ("empty", "# nobody\n")]);
    let (_, errors) = resolved(&s.st);
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    let keys: Vec<&str> = got.iter().map(|g| g.0).collect();
    assert_eq!(
        keys,
        [
            "http.middlewares.colons.basicAuth.users[1]",
            "http.middlewares.empty.basicAuth.users",
            "http.middlewares.field.basicAuth.headerField",
            "http.middlewares.missing.basicAuth.usersFile",
            "http.middlewares.none.basicAuth.users",
            "http.middlewares.realm.basicAuth.realm",
        ],
        "{got:#?}"
    );
    assert_eq!(got[1].1, "no users found in empty");
    assert!(got[3].1.contains("cannot read"), "{}", got[3].1);
    assert!(!got[0].1.contains("a:b:c"), "secrets stay out of errors");
}

#[test]
fn the_users_file_is_part_of_the_fingerprint() {
    let text = format!("{SVC}[http.middlewares.a.basicAuth]\nusersFile = \"htpasswd\"\n");
    let s = setup(&[("m.toml", &text), ("htpasswd", &format!("u:{APR1}\n"))]);
    let before = read_dynamic(&s.st).fingerprint();
    assert_eq!(read_dynamic(&s.st).fingerprint(), before);
    std::fs::write(s.dir.join("htpasswd"), format!("v:{APR1}\n")).unwrap();
    assert_ne!(read_dynamic(&s.st).fingerprint(), before);
}
