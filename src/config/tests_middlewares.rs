//! `http.middlewares`: compiled definitions, chains flattened in order, and the
//! errors for unknown names, cycles and malformed definitions.

use super::tests_dynamic::*;

const SVC: &str = "[http.services.s.respond]\nbody = \"x\"\n";

fn names(r: &super::compile::Resolved, chain: &[u32]) -> Vec<String> {
    chain
        .iter()
        .map(|&i| r.middlewares[i as usize].name.clone())
        .collect()
}

#[test]
fn router_chain_is_flattened_in_order_with_qualified_names() {
    let text = format!(
        r#"{SVC}
[http.routers.r]
rule = "PathPrefix(`/`)"
service = "s"
middlewares = ["a", "both@file", "c"]
[http.middlewares.a.addPrefix]
prefix = "/a"
[http.middlewares.b.stripPrefix]
prefixes = ["/b"]
[http.middlewares.c.replacePath]
path = "/c"
[http.middlewares.both.chain]
middlewares = ["b", "inner"]
[http.middlewares.inner.chain]
middlewares = ["a@file"]
"#
    );
    let s = setup(&[("m.toml", &text)]);
    let r = ok(&s.st);
    let router = r.routers.iter().find(|r| r.name == "r@file").unwrap();
    assert_eq!(
        names(&r, &router.middlewares),
        ["a@file", "b@file", "a@file", "c@file"]
    );
}

#[test]
fn unknown_names_cycles_and_bad_definitions_are_refused_with_their_keys() {
    let text = format!(
        r#"{SVC}
[http.routers.r]
rule = "PathPrefix(`/`)"
service = "s"
middlewares = ["nope", "x@internal", "y@docker", "loop1"]
[http.middlewares.loop1.chain]
middlewares = ["loop2"]
[http.middlewares.loop2.chain]
middlewares = ["loop1"]
[http.middlewares.empty]
[http.middlewares.two.addPrefix]
prefix = "/a"
[http.middlewares.two.stripPrefix]
prefixes = ["/b"]
[http.middlewares.noprefix.addPrefix]
[http.middlewares.badre.stripPrefixRegex]
regex = ["/ok", "(unclosed"]
[http.middlewares.badpath.replacePath]
path = "/a b"
"#
    );
    let (_, errors) = errs(&[("m.toml", &text)]);
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    let want_keys = [
        "http.middlewares.badpath.replacePath.path",
        "http.middlewares.badre.stripPrefixRegex.regex[1]",
        "http.middlewares.empty",
        "http.middlewares.noprefix.addPrefix.prefix",
        "http.middlewares.two",
        // One report per cycle, at the first chain on it; the rest stay quiet.
        "http.middlewares.loop1.chain.middlewares",
        "http.routers.r.middlewares",
        "http.routers.r.middlewares",
        "http.routers.r.middlewares",
    ];
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        want_keys,
        "{got:#?}"
    );
    assert_eq!(
        got[5].1,
        "chain cycle: loop1@file -> loop2@file -> loop1@file"
    );
    assert_eq!(got[6].1, "middleware `nope` is not defined");
    assert!(
        got[7]
            .1
            .contains("unknown internal middleware `x@internal`"),
        "{}",
        got[7].1
    );
    assert!(
        got[8].1.contains("provider `docker` does not exist"),
        "{}",
        got[8].1
    );

    assert!(
        got[4].1.contains("addPrefix and stripPrefix"),
        "{}",
        got[4].1
    );
    assert!(
        got[1].1.contains("invalid regular expression"),
        "{}",
        got[1].1
    );
}

#[test]
fn entry_point_middlewares_resolve_against_dynamic_definitions() {
    let text = format!(
        "{SVC}[http.middlewares.a.addPrefix]\nprefix = \"/a\"\n[http.routers.r]\nrule = \"PathPrefix(`/`)\"\nservice = \"s\"\n"
    );
    let mut s = setup(&[("m.toml", &text)]);
    s.st.entry_points[1].middlewares = vec!["a@file".into()];
    let r = ok(&s.st);
    assert!(r.entry_chains[0].is_empty());
    assert_eq!(names(&r, &r.entry_chains[1]), ["a@file"]);
    s.st.entry_points[0].middlewares = vec!["missing@file".into()];
    let (_, errors) = resolved(&s.st);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key, "entryPoints.admin.http.middlewares");
    assert_eq!(errors[0].file, s.st.source.display().to_string());
    assert!(errors[0].reason.contains("`missing@file` is not defined"));
}
