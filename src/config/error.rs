//! Configuration errors: [`ConfigError`] (file, dotted key, reason), the
//! [`ConfigErrors`] list, and turning TOML/serde errors into them with a line,
//! column and best-effort key path. Errors that serde places on a key (unknown
//! fields, wrong types) get their exact path in `refused_keys`.

use std::fmt;
use std::path::Path;

/// One problem in the configuration: where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: String,
    /// Dotted key path, e.g. `http.routers.api.service`; may include `line L column C`.
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A whole-file problem (unreadable file) has no key; skip the empty slot.
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found, not only the first.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// Gathers errors for one file so validation can go on after the first problem.
pub struct Collector<'a> {
    pub file: String,
    pub errors: &'a mut Vec<ConfigError>,
}

impl<'a> Collector<'a> {
    pub fn new(file: &Path, errors: &'a mut Vec<ConfigError>) -> Self {
        Collector {
            file: file.display().to_string(),
            errors,
        }
    }

    pub fn push(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.errors
            .push(ConfigError::new(self.file.clone(), key, reason));
    }

    /// Unwraps `r`, recording its error under `key`.
    pub fn check<T>(&mut self, key: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|why| self.push(key, why)).ok()
    }
}

/// Converts a TOML syntax or serde type error into a [`ConfigError`].
pub fn from_toml(file: &Path, src: &str, err: &toml::de::Error) -> ConfigError {
    let at = err.span().and_then(|span| src.get(span));
    let reason = explain(err.message().trim(), at);
    let key = match err.span() {
        Some(span) => {
            let (line, column) = line_column(src, span.start);
            match key_path_at(src, span.start) {
                Some(path) => format!("{path} (line {line} column {column})"),
                None => format!("line {line} column {column}"),
            }
        }
        None => String::new(),
    };
    ConfigError::new(file.display().to_string(), key, reason)
}

/// The reason shown to the user; `at` is the source text the error points at.
fn explain(message: &str, at: Option<&str>) -> String {
    // toml 1.x says only "duplicate key" (0.8 named it); the key path says where,
    // the key's own text says which.
    let duplicate = at
        .map(|k| k.trim().trim_matches(['"', '\'']))
        .filter(|k| message == "duplicate key" && !k.is_empty() && !k.contains('\n'));
    if let Some(key) = duplicate {
        return format!("duplicate key `{key}` (already defined earlier in this file)");
    }
    message.to_string()
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(src, offset.min(src.len()));
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Best-effort dotted key path of the key at `offset`: the enclosing `[table]`
/// header plus the key of that line. toml (1.x) does not expose the path it
/// tracks, and a path is far more useful to users than a bare position.
pub fn key_path_at(src: &str, offset: usize) -> Option<String> {
    let offset = floor_char_boundary(src, offset.min(src.len()));
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let line = src[line_start..line_end].trim();
    if let Some(header) = table_header(line) {
        return Some(header);
    }
    let table = src[..line_start]
        .lines()
        .rev()
        .find_map(|l| table_header(l.trim()));
    let key = line.split_once('=').map(|(k, _)| normalize_key(k));
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    }
}

fn table_header(line: &str) -> Option<String> {
    let inner = line.strip_prefix("[[").and_then(|l| l.split("]]").next());
    let inner = inner.or_else(|| line.strip_prefix('[').and_then(|l| l.split(']').next()))?;
    Some(normalize_key(inner))
}

/// `a . "b" . c` → `a.b.c` (quotes only matter to TOML, not to the reader).
fn normalize_key(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches(|c| c == '"' || c == '\''))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let src = "a = 1\nbb = 2\nµ = 3";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        assert_eq!(line_column(src, 9), (2, 4));
        assert_eq!(line_column(src, src.len()), (3, 6));
    }

    #[test]
    fn key_paths() {
        let src = "[http.routers.app]\nrule = \"x\"\nfoo = 1\n[[http.services.s.loadBalancer.servers]]\nurl = 1\n";
        let foo = src.find("foo").unwrap();
        assert_eq!(
            key_path_at(src, foo).as_deref(),
            Some("http.routers.app.foo")
        );
        let url = src.find("url").unwrap();
        assert_eq!(
            key_path_at(src, url).as_deref(),
            Some("http.services.s.loadBalancer.servers.url")
        );
        assert_eq!(key_path_at("x = 1", 0).as_deref(), Some("x"));
        assert_eq!(key_path_at("[ a . \"b\" ]", 0).as_deref(), Some("a.b"));
    }

    #[test]
    fn duplicate_keys_are_named() {
        let err = |src: &str| {
            from_toml(
                Path::new("f.toml"),
                src,
                &toml::from_str::<toml::Table>(src).unwrap_err(),
            )
        };
        let e = err("[http.routers.r]\nrule = \"a\"\nrule = \"b\"\n");
        assert_eq!(e.key, "http.routers.r.rule (line 3 column 1)");
        assert_eq!(
            e.reason,
            "duplicate key `rule` (already defined earlier in this file)"
        );
        let e = err("[http.routers.r]\n[http.routers.\"r\"]\n");
        assert_eq!(e.key, "http.routers.r (line 2 column 15)");
        assert_eq!(
            e.reason,
            "duplicate key `r` (already defined earlier in this file)"
        );
    }

    #[test]
    fn syntax_errors_keep_position_and_reason() {
        let src = "[http.routers.x\nrule = 'Host(`x.test`)'\n";
        let e = from_toml(
            Path::new("f.toml"),
            src,
            &toml::from_str::<toml::Table>(src).unwrap_err(),
        );
        assert_eq!(e.key, "http.routers.x (line 1 column 16)");
        assert_eq!(e.reason, "unclosed table, expected `]`");
    }

    #[test]
    fn display_skips_empty_key() {
        assert_eq!(ConfigError::new("f", "", "gone").to_string(), "f: gone");
        assert_eq!(ConfigError::new("f", "k", "bad").to_string(), "f: k: bad");
    }
}
