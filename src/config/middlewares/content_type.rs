//! `contentType` definitions → [`ContentType`]: `autoDetect` is Traefik's
//! deprecated switch; unset or true turns detection on, false leaves the
//! middleware doing nothing (as Traefik returns the next handler).

use super::super::raw_middleware::RawContentType;
use crate::middleware::{ContentType, Middleware};

pub fn compile(raw: &RawContentType) -> Middleware {
    Middleware::ContentType(ContentType {
        auto_detect: raw.auto_detect.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::tests_dynamic::{errs, ok, setup};
    use crate::middleware::Middleware;

    const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

    #[test]
    fn auto_detect_defaults_to_on() {
        let text = format!(
            "{SVC}[http.middlewares.a.contentType]\n\
             [http.middlewares.b.contentType]\nautoDetect = false\n\
             [http.middlewares.c.contentType]\nautoDetect = true\n"
        );
        let s = setup(&[("m.toml", &text)]);
        let r = ok(&s.st);
        let detects: Vec<(String, bool)> = r
            .middlewares
            .iter()
            .map(|m| match &m.kind {
                Middleware::ContentType(c) => (m.name.clone(), c.auto_detect),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            detects,
            [
                ("a@file".to_string(), true),
                ("b@file".to_string(), false),
                ("c@file".to_string(), true)
            ]
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let text = format!("{SVC}[http.middlewares.a.contentType]\nautoDetect = \"yes\"\n");
        let (_, errors) = errs(&[("m.toml", &text)]);
        let all = format!("{errors:?}");
        assert!(
            all.contains("http.middlewares.a.contentType.autoDetect"),
            "{all}"
        );
        let text = format!("{SVC}[http.middlewares.a.contentType]\nautodetect = true\n");
        let (_, errors) = errs(&[("m.toml", &text)]);
        let all = format!("{errors:?}");
        assert!(all.contains("unknown field"), "{all}");
    }
}
