//! `digestAuth` definitions → [`DigestAuth`]: `user:realm:md5(user:realm:password)`
//! lines from `usersFile` then `users` (read, reloaded and reported like
//! basicAuth's), keeping the users of the middleware's realm; the challenge's
//! fixed parts prepared once.

use std::collections::BTreeMap;
use std::path::Path;

use super::auth::{Extra, header_field, line_key, lines, realm};
use crate::config::raw_middleware::RawBasicAuth;
use crate::middleware::{DigestAuth, Middleware};

/// Compiles `digestAuth`; `Err((key, reason))` names the offending key below
/// `http.middlewares.<name>.digestAuth`.
pub fn compile(
    file: &Path,
    raw: &RawBasicAuth,
    extra: &Extra,
) -> Result<Middleware, (String, String)> {
    let (lines, from_file) = lines(file, raw, extra)?;
    let realm = realm(raw)?;
    let mut users = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        // Traefik splits on every `:`: exactly three fields.
        let fields: Vec<&str> = line.split(':').collect();
        let [name, line_realm, ha1] = fields[..] else {
            let reason = "expected `name:realm:md5-hex` (two `:`)";
            return Err((line_key(i, from_file), reason.into()));
        };
        // Traefik looks users up by `name:realm`: other realms' lines never match.
        if line_realm == realm {
            users.insert(name.as_bytes().into(), ha1.as_bytes().into());
        }
    }
    Ok(Middleware::DigestAuth(DigestAuth::new(
        users,
        realm,
        header_field(raw)?,
        raw.remove_header,
    )))
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::{errs, ok, setup};

    const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

    fn keys(def: &str) -> Vec<(String, String)> {
        let text = format!("{SVC}[http.middlewares.d.digestAuth]\n{def}");
        let (_, errors) = errs(&[("m.toml", &text)]);
        errors.into_iter().map(|e| (e.key, e.reason)).collect()
    }

    #[test]
    fn bad_definitions_name_their_key() {
        let got = keys("users = [\"test:traefik:a2688e031edb4be6a3797f3882655c05\", \"test\"]\n");
        assert_eq!(
            got[0].0, "http.middlewares.d.digestAuth.users[1]",
            "{got:?}"
        );
        assert!(got[0].1.contains("name:realm:md5-hex"), "{got:?}");
        let got = keys("");
        assert_eq!(got[0].0, "http.middlewares.d.digestAuth.users", "{got:?}");
        let got = keys("users = [\"a:b:c\"]\nrealm = \"a\\\"b\"\n");
        assert_eq!(got[0].0, "http.middlewares.d.digestAuth.realm", "{got:?}");
        let got = keys("users = [\"a:b:c\"]\nheaderField = \"X User\"\n");
        assert_eq!(
            got[0].0, "http.middlewares.d.digestAuth.headerField",
            "{got:?}"
        );
        let got = keys("users = [\"a:b:c\"]\nusersFile = \"missing.txt\"\n");
        assert_eq!(
            got[0].0, "http.middlewares.d.digestAuth.usersFile",
            "{got:?}"
        );
        let text = format!("{SVC}[http.middlewares.d.digestAuth]\nusers = [\"a:traefik:c\"]\n");
        let s = setup(&[("m.toml", &text)]);
        assert_eq!(ok(&s.st).middlewares[0].kind.type_name(), "digestAuth");
    }
}
