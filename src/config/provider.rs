//! The file provider: reads the dynamic files — one `filename`, or every `*.toml`
//! below `directory` (recursively, sorted by path so merges are deterministic).
//!
//! Names starting with `..` are skipped while walking: that is how a Kubernetes
//! ConfigMap volume keeps its timestamped data directories and the `..data` link
//! (`app.toml -> ..data/app.toml`, `..data -> ..2024_01_01_…`). Reading them too
//! would define every router twice.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::raw_dynamic::RawDynamic;
use super::refused_keys;
use super::traefik_keys::Schema;
use super::types::FileProvider;

/// Deeper trees are almost certainly a symlink loop.
const MAX_DEPTH: usize = 32;

/// One dynamic file: its text (what the fingerprint covers) and what it parsed to.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Parsed once, as it is read: `read_dynamic` needs the `tls` section (which
    /// files to read) before it can fingerprint, and the compile needs all of it.
    /// Parsing in both places was a third of `load_snapshot` on large files.
    /// On failure: every refused key of the file (`refused_keys`).
    pub parsed: Result<RawDynamic, Vec<ConfigError>>,
}

impl SourceFile {
    pub fn parse(path: PathBuf, text: String) -> SourceFile {
        let parsed = refused_keys::parse(&path, &text, Schema::Dynamic);
        SourceFile { path, text, parsed }
    }
}

/// What the provider read, and what it could not.
#[derive(Debug, Default)]
pub struct ProviderFiles {
    pub files: Vec<SourceFile>,
    pub errors: Vec<ConfigError>,
    /// Files the dynamic files point at (certificates, keys, CAs), read in the
    /// same pass so that the fingerprint covers them (`config::tls`).
    pub extra: Vec<(PathBuf, Result<Vec<u8>, String>)>,
}

impl ProviderFiles {
    /// A hash of everything the compile step would see: every path, its text and
    /// every read error. Equal fingerprints mean an equal snapshot would come out
    /// (server DNS aside), so a touch or an event storm need not publish anything.
    pub fn fingerprint(&self) -> u64 {
        // SipHash with fixed keys: stable within the process, which is all we compare.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for f in &self.files {
            f.path.hash(&mut h);
            f.text.hash(&mut h);
        }
        for e in &self.errors {
            e.to_string().hash(&mut h);
        }
        self.extra.hash(&mut h);
        h.finish()
    }
}

/// Reads and parses the provider's files; no provider means no dynamic configuration.
pub fn read(provider: Option<&FileProvider>) -> ProviderFiles {
    let mut out = ProviderFiles::default();
    let Some(p) = provider else { return out };
    let mut paths = Vec::new();
    if p.is_directory {
        if let Err(e) = walk(&p.path, 0, &mut paths) {
            out.errors.push(e);
        }
        paths.sort();
    } else {
        paths.push(p.path.clone());
    }
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => out.files.push(SourceFile::parse(path, text)),
            Err(e) => out.errors.push(unreadable(&path, e)),
        }
    }
    out
}

fn unreadable(path: &Path, e: std::io::Error) -> ConfigError {
    ConfigError::new(path.display().to_string(), "", format!("cannot read: {e}"))
}

/// Collects `*.toml` files below `dir`. YAML files are reported rather than
/// skipped: a Traefik user would otherwise lose routes silently.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), ConfigError> {
    if depth > MAX_DEPTH {
        let reason = format!("directory nesting deeper than {MAX_DEPTH} (symlink loop?)");
        return Err(ConfigError::new(dir.display().to_string(), "", reason));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(dir, e))?;
        if entry.file_name().as_encoded_bytes().starts_with(b"..") {
            continue;
        }
        let path = entry.path();
        // metadata() follows symlinks, as Traefik does.
        let meta = std::fs::metadata(&path).map_err(|e| unreadable(&path, e))?;
        if meta.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if has_extension(&path, &["toml"]) {
            out.push(path);
        } else if has_extension(&path, &["yml", "yaml"]) {
            let reason = "YAML dynamic files are not supported yet (use TOML)";
            return Err(ConfigError::new(path.display().to_string(), "", reason));
        }
    }
    Ok(())
}

fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dir_provider(path: &Path) -> FileProvider {
        FileProvider {
            path: path.to_path_buf(),
            is_directory: true,
            watch: false,
        }
    }

    #[test]
    fn reads_toml_recursively_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("b/c")).unwrap();
        fs::write(tmp.path().join("z.toml"), "z").unwrap();
        fs::write(tmp.path().join("b/c/a.toml"), "a").unwrap();
        fs::write(tmp.path().join("b/x.TOML"), "x").unwrap();
        fs::write(tmp.path().join("notes.txt"), "ignored").unwrap();
        let got = read(Some(&dir_provider(tmp.path())));
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        let names: Vec<_> = got
            .files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(tmp.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["b/c/a.toml", "b/x.TOML", "z.toml"]);
        assert_eq!(got.files[0].text, "a");
    }

    #[test]
    fn no_provider_and_empty_directory_read_nothing() {
        assert!(read(None).files.is_empty());
        let tmp = tempfile::tempdir().unwrap();
        let got = read(Some(&dir_provider(tmp.path())));
        assert!(got.files.is_empty() && got.errors.is_empty());
    }

    #[test]
    fn single_file_and_missing_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("one.toml");
        fs::write(&file, "x = 1").unwrap();
        let p = FileProvider {
            path: file.clone(),
            is_directory: false,
            watch: true,
        };
        assert_eq!(read(Some(&p)).files.len(), 1);

        let missing = FileProvider {
            path: tmp.path().join("nope.toml"),
            ..p
        };
        let errs = read(Some(&missing)).errors;
        assert_eq!(errs.len(), 1);
        assert!(errs[0].file.ends_with("nope.toml") && errs[0].reason.contains("cannot read"));
        assert_eq!(
            read(Some(&dir_provider(&tmp.path().join("nodir"))))
                .errors
                .len(),
            1
        );
    }

    #[test]
    fn configmap_layout_is_read_once() {
        // kubelet's layout: data in a timestamped dir, `..data` points at it, and
        // the visible names are links through `..data`.
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("..2024_01_01")).unwrap();
        fs::write(tmp.path().join("..2024_01_01/app.toml"), "a").unwrap();
        std::os::unix::fs::symlink("..2024_01_01", tmp.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/app.toml", tmp.path().join("app.toml")).unwrap();
        let got = read(Some(&dir_provider(tmp.path())));
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        assert_eq!(got.files.len(), 1, "{:?}", got.files);
        assert!(got.files[0].path.ends_with("app.toml"));
        assert_eq!(got.files[0].text, "a");
    }

    #[test]
    fn fingerprint_follows_content_not_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a.toml");
        fs::write(&file, "x = 1").unwrap();
        let p = dir_provider(tmp.path());
        let first = read(Some(&p)).fingerprint();
        fs::write(&file, "x = 1").unwrap();
        assert_eq!(read(Some(&p)).fingerprint(), first, "same bytes rewritten");
        fs::write(&file, "x = 2").unwrap();
        assert_ne!(read(Some(&p)).fingerprint(), first, "content changed");
        fs::rename(&file, tmp.path().join("b.toml")).unwrap();
        let renamed = read(Some(&p)).fingerprint();
        assert_ne!(renamed, first, "a rename changes file names in errors");
        fs::remove_file(tmp.path().join("b.toml")).unwrap();
        assert_ne!(read(Some(&p)).fingerprint(), renamed, "deleted");
    }

    #[test]
    fn yaml_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a.yml"), "http: {}").unwrap();
        let errs = read(Some(&dir_provider(tmp.path()))).errors;
        assert!(errs[0].reason.contains("YAML"), "{errs:?}");
    }
}
