//! Compiles `compress` as Traefik's `compress.New` checks it: the include and
//! exclude lists are exclusive and parse as media types (`application/grpc` is
//! always excluded), `minResponseBodyBytes` 0 or absent means 1024, the
//! encodings are among `gzip`, `br`, `zstd` (default: all three in that order)
//! and `defaultEncoding` is one of them.

use std::sync::Arc;

use super::Refusal;
use crate::config::raw_middleware::RawCompress;
use crate::middleware::Middleware;
use crate::middleware::compress::{
    Compress, DEFAULT_ENCODINGS, DEFAULT_MIN_RESPONSE_BODY_BYTES, Encoding, MediaType,
};

pub(super) fn compile(m: &RawCompress) -> Result<Middleware, Refusal> {
    if !m.excluded_content_types.is_empty() && !m.included_content_types.is_empty() {
        let why = "excludedContentTypes and includedContentTypes options are mutually exclusive";
        return Err(("includedContentTypes".into(), why.into()));
    }
    let mut excludes = vec![MediaType::parse("application/grpc").expect("a valid type")];
    excludes.extend(media_types(
        "excludedContentTypes",
        &m.excluded_content_types,
    )?);
    let includes = media_types("includedContentTypes", &m.included_content_types)?;
    let min_size = match m.min_response_body_bytes {
        None | Some(0) => DEFAULT_MIN_RESPONSE_BODY_BYTES,
        Some(n) if n > 0 => n as u64,
        Some(n) => {
            let why = format!("{n} is negative (0 means the default, 1024)");
            return Err(("minResponseBodyBytes".into(), why));
        }
    };
    let encodings = match &m.encodings {
        None => DEFAULT_ENCODINGS.to_vec(),
        Some(list) if list.is_empty() => {
            let why = "at least one encoding must be specified";
            return Err(("encodings".into(), why.into()));
        }
        Some(list) => {
            let mut out = Vec::new();
            for (i, e) in list.iter().enumerate() {
                match Encoding::from_token(e) {
                    Some(e) if !out.contains(&e) => out.push(e),
                    Some(_) => {}
                    None => {
                        let why = format!("unsupported encoding: {e} (use gzip, br or zstd)");
                        return Err((format!("encodings[{i}]"), why));
                    }
                }
            }
            out
        }
    };
    let default_encoding = match m.default_encoding.as_deref() {
        None | Some("") => None,
        Some(d) => match Encoding::from_token(d).filter(|e| encodings.contains(e)) {
            Some(e) => Some(e),
            None => {
                let why = format!("unsupported default encoding: {d} (not in encodings)");
                return Err(("defaultEncoding".into(), why));
            }
        },
    };
    Ok(Middleware::Compress(Arc::new(Compress {
        excludes,
        includes,
        min_size,
        encodings,
        default_encoding,
    })))
}

fn media_types(key: &str, list: &[String]) -> Result<Vec<MediaType>, Refusal> {
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            MediaType::parse(t).map_err(|e| (format!("{key}[{i}]"), format!("{t:?}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::raw_middleware::RawMiddleware;
    use crate::middleware::Middleware;
    use crate::middleware::compress::Encoding;

    fn compile(src: &str) -> Result<Middleware, super::Refusal> {
        let raw: RawMiddleware = toml::from_str(src).unwrap();
        super::compile(raw.compress.as_ref().unwrap())
    }

    #[test]
    fn traefiks_defaults() {
        let Middleware::Compress(c) = compile("[compress]").unwrap() else {
            panic!("not compress")
        };
        assert_eq!(c.min_size, 1024);
        assert_eq!(c.encodings, [Encoding::Gzip, Encoding::Br, Encoding::Zstd]);
        assert_eq!(c.default_encoding, None);
        assert_eq!(c.excludes[0].essence, "application/grpc");
    }

    #[test]
    fn refusals_name_the_key() {
        let cases = [
            (
                "excludedContentTypes = [\"a/b\"]\nincludedContentTypes = [\"c/d\"]",
                "includedContentTypes",
            ),
            (
                "excludedContentTypes = [\"text/html\", \"\"]",
                "excludedContentTypes[1]",
            ),
            ("encodings = []", "encodings"),
            ("encodings = [\"gzip\", \"lz4\"]", "encodings[1]"),
            (
                "encodings = [\"gzip\"]\ndefaultEncoding = \"br\"",
                "defaultEncoding",
            ),
            ("minResponseBodyBytes = -1", "minResponseBodyBytes"),
        ];
        for (src, key) in cases {
            let (k, _) = compile(&format!("[compress]\n{src}")).unwrap_err();
            assert_eq!(k, key, "{src}");
        }
    }
}
