//! Guards the crate's layering: the top-level modules form no cycle, and each
//! depends only on the modules below it in [`LAYERS`] (docs/architecture.md,
//! "Layers"). A dependency is any `crate::<module>` path in a module's source,
//! `use crate::{a, b::c}` groups included; comments are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level modules, lowest first: each may use only those before it.
const LAYERS: &[&str] = &[
    "runtime",
    "net",
    "router",
    "middleware",
    "tls",
    "config",
    "control",
    "observe",
    "service",
    "tcp",
    "worker",
    "http",
    "health",
    "edge",
    "app",
];

/// Test-only helpers any module's tests may use.
const TEST_SUPPORT: &[&str] = &["fuzz_tests", "layering_tests"];

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

#[test]
fn top_level_modules_form_no_cycle_and_respect_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = dependencies(&src);
    let modules: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    for m in &modules {
        assert!(
            LAYERS.contains(m) || TEST_SUPPORT.contains(m),
            "top-level module `{m}` has no place in LAYERS: add it where it belongs"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("top-level modules form a cycle: {}", cycle.join(" -> "));
    }
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    for (from, deps) in &graph {
        for (to, files) in deps {
            if let (Some(a), Some(b)) = (rank(from), rank(to))
                && b >= a
            {
                wrong.push(format!("{from} -> {to} (in {files:?})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies upward in LAYERS:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_dependency_scan_sees_grouped_and_plain_paths() {
    let text = "use crate::{net::x, router};\nfn f() { crate::tls::go(); } // crate::app\n";
    let mut found = BTreeSet::new();
    scan(text, &mut |m| {
        found.insert(m.to_string());
    });
    let expected: BTreeSet<String> = ["net", "router", "tls"].map(String::from).into();
    assert_eq!(found, expected);
    let mut graph = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a")] {
        graph
            .entry(a.into())
            .or_default()
            .insert(b.into(), BTreeSet::new());
    }
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

/// module → module it uses → files where it does.
fn dependencies(src: &Path) -> Graph {
    let mut tops = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".rs")
            && !matches!(stem, "lib" | "main")
        {
            tops.insert(stem.to_string());
        }
    }
    let mut graph = Graph::new();
    for top in &tops {
        let deps = graph.entry(top.clone()).or_default();
        let mut files = vec![src.join(format!("{top}.rs"))];
        collect_rs(&src.join(top), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(src).unwrap().display().to_string();
            scan(&text, &mut |m| {
                if m != top && tops.contains(m) {
                    let at = deps.entry(m.to_string()).or_default();
                    at.insert(shown.clone());
                }
            });
        }
    }
    graph
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Calls `found` with each module named right after `crate::`, or at the top
/// level of a `crate::{…}` group.
fn scan(text: &str, found: &mut dyn FnMut(&str)) {
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                for name in group_heads(group) {
                    found(name);
                }
            } else {
                found(ident(rest));
            }
        }
    }
}

/// The first identifier of each comma-separated item at depth 1 of a group.
fn group_heads(group: &str) -> Vec<&str> {
    let (mut depth, mut start, mut heads) = (1, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => {
                heads.push(ident(group[start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 1 => {
                heads.push(ident(group[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// A cycle as the path of modules from one back to itself, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|d| d.keys()) {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}
