//! Where a transport's certificates come from: each of `rootCAs` and of
//! `certificates`' `certFile`/`keyFile` is a file (relative to the dynamic file
//! that names it) or the PEM itself. Files are read with the provider's files,
//! so a replaced CA or client certificate changes the fingerprint and reloads.

use std::path::{Path, PathBuf};

use super::super::provider::ProviderFiles;
use super::super::raw_dynamic::RawServersTransport;

fn is_inline(s: &str) -> bool {
    s.trim_start().starts_with("-----BEGIN")
}

pub(in crate::config) fn resolve(file: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    match file.parent() {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

/// The file-or-PEM values a transport names.
fn named(t: &RawServersTransport) -> impl Iterator<Item = &String> {
    let certs = t.certificates.iter().flatten();
    let pairs = certs.flat_map(|c| [&c.cert_file, &c.key_file].into_iter().flatten());
    t.root_cas.iter().flatten().chain(pairs)
}

/// Adds the files every transport names to `files.extra` (so replacing a CA
/// or a client certificate changes the fingerprint and reloads).
pub fn read_files(files: &mut ProviderFiles) {
    let paths: Vec<PathBuf> = files
        .files
        .iter()
        .filter_map(|f| Some((f, f.parsed.as_ref().ok()?.http.as_ref()?)))
        .flat_map(|(f, http)| {
            let values = http.servers_transports.values().flat_map(named);
            let values = values.filter(|v| !is_inline(v));
            values.map(|v| resolve(&f.path, v)).collect::<Vec<_>>()
        })
        .collect();
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        files.extra.push((p, bytes));
    }
    files.extra.sort_by(|a, b| a.0.cmp(&b.0));
    files.extra.dedup_by(|a, b| a.0 == b.0);
}

pub type Extra = [(PathBuf, Result<Vec<u8>, String>)];

/// PEM bytes of a file-or-content value.
pub(super) fn pem<'a>(file: &Path, value: &'a str, extra: &'a Extra) -> Result<&'a [u8], String> {
    if is_inline(value) {
        return Ok(value.as_bytes());
    }
    let path = resolve(file, value);
    match extra.binary_search_by(|(p, _)| p.as_path().cmp(&path)) {
        Ok(i) => extra[i].1.as_deref().map_err(Clone::clone),
        Err(_) => Err(format!("{} was not read", path.display())),
    }
}
