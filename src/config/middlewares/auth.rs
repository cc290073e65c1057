//! `basicAuth` definitions → [`BasicAuth`] (and the parts `digestAuth` shares:
//! users, realm, headerField): users from `usersFile` (read with
//! the dynamic files, so editing it reloads) then `users`, each `name:secret`
//! parsed once; the realm (default `traefik`) and the challenge prepared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::provider::ProviderFiles;
use super::super::raw_middleware::{RawBasicAuth, RawMiddleware};
use crate::middleware::{BasicAuth, Middleware, Secret};

/// Files read alongside the dynamic files: path → bytes or why not.
pub type Extra = [(PathBuf, Result<Vec<u8>, String>)];

const DEFAULT_REALM: &str = "traefik";

/// Where a `usersFile` value points: relative to the file that names it.
fn resolve(file: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    match file.parent() {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

fn users_file(m: &RawMiddleware) -> Option<&str> {
    let raw = m.basic_auth.as_ref().or(m.digest_auth.as_ref())?;
    let file = raw.users_file.as_deref()?;
    (!file.is_empty()).then_some(file)
}

/// The `usersFile` a definition in `file` reads, and what reading it gave.
pub fn file_read<'e>(
    file: &Path,
    m: &RawMiddleware,
    extra: &'e Extra,
) -> Option<(&'e Path, &'e Result<Vec<u8>, String>)> {
    let path = resolve(file, users_file(m)?);
    let i = extra
        .binary_search_by(|(p, _)| p.as_path().cmp(&path))
        .ok()?;
    Some((&extra[i].0, &extra[i].1))
}

/// Adds every `usersFile` the dynamic files name to `files.extra` (kept
/// sorted and unique by path), so the reload fingerprint covers them.
pub fn read_users_files(files: &mut ProviderFiles) {
    let paths: Vec<PathBuf> = files
        .files
        .iter()
        .filter_map(|f| Some((f, f.parsed.as_ref().ok()?.http.as_ref()?)))
        .flat_map(|(f, http)| {
            let named = http.middlewares.values().filter_map(users_file);
            named.map(|u| resolve(&f.path, u)).collect::<Vec<_>>()
        })
        .collect();
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        files.extra.push((p, bytes));
    }
    files.extra.sort_by(|a, b| a.0.cmp(&b.0));
    files.extra.dedup_by(|a, b| a.0 == b.0);
}

/// Compiles `basicAuth`; `Err((key, reason))` names the offending key below
/// `http.middlewares.<name>.basicAuth`.
pub fn basic(
    file: &Path,
    raw: &RawBasicAuth,
    extra: &Extra,
) -> Result<Middleware, (String, String)> {
    let (lines, from_file) = lines(file, raw, extra)?;
    let mut users = BTreeMap::new();
    let mut first = None;
    for (i, line) in lines.iter().enumerate() {
        // Traefik splits on every `:`: exactly one is allowed.
        let Some((name, secret)) = line.split_once(':').filter(|(_, s)| !s.contains(':')) else {
            let reason = "expected `name:hashed-password` (one `:`)";
            return Err((line_key(i, from_file), reason.into()));
        };
        let secret = Secret::parse(secret);
        first.get_or_insert_with(|| secret.clone());
        users.insert(name.as_bytes().into(), secret);
    }
    let decoy = first.expect("lines() refuses an empty list");
    Ok(Middleware::BasicAuth(BasicAuth {
        users,
        decoy,
        challenge: format!("Basic realm=\"{}\"", realm(raw)?),
        header_field: header_field(raw)?,
        remove_header: raw.remove_header,
    }))
}

/// The user lines, `usersFile`'s first, and how many came from the file;
/// refused when there are none.
pub(super) fn lines(
    file: &Path,
    raw: &RawBasicAuth,
    extra: &Extra,
) -> Result<(Vec<String>, usize), (String, String)> {
    let mut lines: Vec<String> = Vec::new();
    let named_file = raw.users_file.as_deref().filter(|f| !f.is_empty());
    if let Some(f) = named_file {
        let text = read(extra, &resolve(file, f)).map_err(|e| ("usersFile".to_string(), e))?;
        lines.extend(user_lines(&text));
    }
    let from_file = lines.len();
    lines.extend(raw.users.iter().cloned());
    if lines.is_empty() {
        let reason = match named_file {
            Some(f) => format!("no users found in {f}"),
            None => "no users: set `users` or `usersFile`".into(),
        };
        return Err(("users".into(), reason));
    }
    Ok((lines, from_file))
}

/// The key a bad line is reported under: `users[j]` or `usersFile`.
pub(super) fn line_key(i: usize, from_file: usize) -> String {
    match i.checked_sub(from_file) {
        Some(j) => format!("users[{j}]"),
        None => "usersFile".to_string(),
    }
}

/// `realm`, default `traefik`, fit for a quoted challenge parameter.
pub(super) fn realm(raw: &RawBasicAuth) -> Result<&str, (String, String)> {
    let realm = raw
        .realm
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REALM);
    if realm.chars().any(|c| c.is_control() || c == '"') {
        return Err((
            "realm".into(),
            "control characters and `\"` cannot appear in a realm".into(),
        ));
    }
    Ok(realm)
}

/// `headerField`, when set, checked to be a header name.
pub(super) fn header_field(raw: &RawBasicAuth) -> Result<Option<String>, (String, String)> {
    let header_field = raw.header_field.clone().filter(|h| !h.is_empty());
    if let Some(h) = &header_field
        && !h.bytes().all(is_token)
    {
        return Err(("headerField".into(), format!("{h:?} is not a header name")));
    }
    Ok(header_field)
}

fn read(extra: &Extra, path: &Path) -> Result<String, String> {
    match extra.binary_search_by(|(p, _)| p.as_path().cmp(path)) {
        Ok(i) => match &extra[i].1 {
            Ok(bytes) => String::from_utf8(bytes.clone())
                .map_err(|_| format!("{} is not UTF-8", path.display())),
            Err(e) => Err(e.clone()),
        },
        Err(_) => Err(format!("{} was not read", path.display())),
    }
}

/// The file's lines as Traefik reads them: trimmed, blanks and `#` comments skipped.
pub fn user_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
}

/// An RFC 9110 token character (what a header name is made of).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
