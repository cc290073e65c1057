//! Parsing one TOML file into its serde model so that every refused key is
//! reported, not only the first.
//!
//! serde stops at a file's first problem. The happy path is one plain parse;
//! only when it fails, the file is parsed again into toml's spanned document,
//! the key the error points at is found by its span (which gives its exact path,
//! array indices included), recorded and removed, and the model is deserialized
//! again from what is left, until it succeeds, the error cannot be placed on a
//! key, or [`MAX_ERRORS`] is reached. A syntax error stops the file at once: the
//! document cannot be built.
//!
//! An unknown key says "not supported yet" when Traefik has that key at that
//! place (`traefik_keys`), and serde's "unknown field …, expected …" otherwise.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, Deserializer};

use super::error::{self, ConfigError};
use super::traefik_keys::{self, Schema};

/// Enough to fix a file in one go; a file with more is rarely worth listing in full.
pub const MAX_ERRORS: usize = 100;

/// One step of a key's path: a table key or an index in an array of tables.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Parses `src` as `T`; on failure, every error that can be placed on a key.
pub fn parse<T: DeserializeOwned>(
    file: &Path,
    src: &str,
    schema: Schema,
) -> Result<T, Vec<ConfigError>> {
    toml::from_str(src).map_err(|first| every_error::<T>(file, src, schema, first, &[]))
}

/// `first` is the plain parse's error, reported as is when the document cannot
/// be built (a syntax error); otherwise the errors come from the spanned document.
fn every_error<T: DeserializeOwned>(
    file: &Path,
    src: &str,
    schema: Schema,
    first: toml::de::Error,
    base: &[Seg],
) -> Vec<ConfigError> {
    let Ok(mut doc) = DeTable::parse(src) else {
        return vec![error::from_toml(file, src, &first)];
    };
    let mut errors = Vec::new();
    while let Err(err) = T::deserialize(Deserializer::from(doc.clone())) {
        let path = err.span().and_then(|span| take(doc.get_mut(), &span));
        let Some(path) = path.map(|p| [base, &p].concat()) else {
            errors.push(error::from_toml(file, src, &err));
            break;
        };
        errors.push(refused(file, src, schema, &path, &err));
        if errors.len() >= MAX_ERRORS {
            let reason = format!("more than {MAX_ERRORS} errors: the rest are not listed");
            errors.push(ConfigError::new(file.display().to_string(), "", reason));
            break;
        }
    }
    if errors.is_empty() {
        // The spanned document took what the plain parse refused: never expected,
        // but the file must not pass for valid with no error.
        errors.push(error::from_toml(file, src, &first));
    }
    errors
}

/// Deserializes a section the static model keeps as a `toml::Value` (`accessLog`,
/// `metrics`, …; `section` is its key). On failure, (full key, reason) for every
/// refused key, without position: values carry none (see [`add_positions`]).
pub fn parse_section<T: DeserializeOwned>(
    section: &str,
    value: &toml::Value,
) -> Result<T, Vec<(String, String)>> {
    value.clone().try_into().map_err(|first: toml::de::Error| {
        let message = first.message().trim().to_string();
        let whole = || vec![(section.to_string(), message.clone())];
        // Printed back to TOML, the section gets spans to place errors with.
        let Ok(text) = toml::to_string(value) else {
            return whole();
        };
        let base: Vec<Seg> = section.split('.').map(|k| Seg::Key(k.into())).collect();
        let errors = every_error::<T>(Path::new(""), &text, Schema::Static, first, &base);
        // Positions are in the printed text: dropped. An error not placed on a
        // key (its path is the printed text's guess) stays on the section.
        let key = |e: &ConfigError| match e.key.split(" (line ").next() {
            Some(k) if k.starts_with(section) => k.to_string(),
            _ => section.to_string(),
        };
        errors.iter().map(|e| (key(e), e.reason.clone())).collect()
    })
}

/// Adds `(line L column C)` to errors on keys of `src` that have none: the
/// unknown and unsupported keys found after parsing (static sections checked
/// by their own module, sections proxyd accepts only to refuse). Free when
/// there is no such error.
pub fn add_positions(src: &str, errors: &mut [ConfigError]) {
    let wanted = |e: &ConfigError| {
        !e.key.is_empty()
            && !e.key.contains(" (line ")
            && (e.reason.starts_with("unknown field") || is_unsupported_key(e))
    };
    if !errors.iter().any(wanted) {
        return;
    }
    let Ok(doc) = DeTable::parse(src) else { return };
    for e in errors.iter_mut().filter(|e| wanted(e)) {
        if let Some(start) = key_start(doc.get_ref(), &e.key) {
            let (line, column) = error::line_column(src, start);
            e.key = format!("{} (line {line} column {column})", e.key);
        }
    }
}

/// "`k` is not supported yet by proxyd" said of the key `….k` (or `k`) itself.
fn is_unsupported_key(e: &ConfigError) -> bool {
    let name = e
        .reason
        .strip_prefix('`')
        .and_then(|r| r.strip_suffix("` is not supported yet by proxyd"));
    name.is_some_and(|n| e.key == n || e.key.ends_with(&format!(".{n}")))
}

/// Where the key at dotted `path` is written (tables only, no arrays).
fn key_start(doc: &DeTable<'_>, path: &str) -> Option<usize> {
    let mut table = doc;
    let mut segs = path.split('.').peekable();
    while let Some(seg) = segs.next() {
        let (k, v) = table.get_key_value(seg)?;
        if segs.peek().is_none() {
            return Some(k.span().start);
        }
        table = v.get_ref().as_table()?;
    }
    None
}

/// The error for the key at `path`, with its position and the reason.
fn refused(
    file: &Path,
    src: &str,
    schema: Schema,
    path: &[Seg],
    err: &toml::de::Error,
) -> ConfigError {
    let start = err.span().map_or(0, |s| s.start);
    let (line, column) = error::line_column(src, start);
    let key = format!("{} (line {line} column {column})", display(path));
    let message = err.message().trim();
    let traefik = unknown_field(message).filter(|name| {
        let parent: Vec<&str> = path[..path.len() - 1]
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Index(_) => None,
            })
            .collect();
        traefik_keys::is_traefik_key(schema, &parent, name)
    });
    let reason = match traefik {
        Some(name) => format!("`{name}` is not supported yet by proxyd"),
        None => message.to_string(),
    };
    ConfigError::new(file.display().to_string(), key, reason)
}

/// The field name of serde's "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
}

/// `a.b[2].c`: dotted keys, array indices in brackets.
fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Removes the entry the error at `span` is about and returns its path: the key
/// whose name is at `span` (unknown fields), else the innermost entry whose value
/// is at `span` (type errors). `None` when neither exists.
fn take(table: &mut DeTable<'_>, span: &Range<usize>) -> Option<Vec<Seg>> {
    take_in(table, span, true).or_else(|| take_in(table, span, false))
}

fn take_in(table: &mut DeTable<'_>, span: &Range<usize>, by_key: bool) -> Option<Vec<Seg>> {
    let mut hit = None;
    for (k, v) in table.iter_mut() {
        if by_key && k.span() == *span {
            hit = Some(k.get_ref().to_string());
            break;
        }
        if let Some(mut inner) = take_nested(v.get_mut(), span, by_key) {
            inner.insert(0, Seg::Key(k.get_ref().to_string()));
            return Some(inner);
        }
        if !by_key && v.span() == *span {
            hit = Some(k.get_ref().to_string());
            break;
        }
    }
    let name = hit?;
    table.remove(name.as_str());
    Some(vec![Seg::Key(name)])
}

fn take_nested(value: &mut DeValue<'_>, span: &Range<usize>, by_key: bool) -> Option<Vec<Seg>> {
    match value {
        DeValue::Table(t) => take_in(t, span, by_key),
        DeValue::Array(items) => items.iter_mut().enumerate().find_map(|(i, item)| {
            let DeValue::Table(t) = item.get_mut() else {
                return None;
            };
            let mut inner = take_in(t, span, by_key)?;
            inner.insert(0, Seg::Index(i));
            Some(inner)
        }),
        _ => None,
    }
}
