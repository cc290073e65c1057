//! Tests of `load_snapshot` end to end. They need the router module
//! (`Rule::parse`, `RouterTable::build`) and fail while it is a stub.

use std::path::Path;

use super::tests_dynamic::*;
use super::*;

#[test]
fn snapshot_tables_follow_entry_points() {
    let s = setup(&[("app.toml", APP)]);
    let snap = load_snapshot(&s.st, 7).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snap.generation, 7);
    assert_eq!(snap.routers.len(), 3);
    assert_eq!(snap.tables.len(), 2);
    assert_eq!(snap.tables[0].len(), 2, "admin: who, who2");
    assert_eq!(snap.tables[1].len(), 3, "web: app, who, who2");
}

#[test]
fn snapshot_of_empty_or_no_provider_is_empty() {
    let mut s = setup(&[]);
    let snap = load_snapshot(&s.st, 1).unwrap();
    assert!(snap.routers.is_empty() && snap.services.is_empty());
    assert!(snap.tables.iter().all(|t| t.is_empty()) && snap.tables.len() == 2);
    s.st.provider = None;
    assert!(load_snapshot(&s.st, 2).unwrap().routers.is_empty());
}

#[test]
fn snapshot_reports_bad_rules_with_other_errors() {
    let text = "[http.routers.bad]\nrule = \"Host(`x`\"\nservice = \"whoami@internal\"\n[http.routers.dangling]\nrule = \"Path(`/`)\"\nservice = \"nope\"\n";
    let s = setup(&[("r.toml", text)]);
    let errors = load_snapshot(&s.st, 1).err().expect("refused").0;
    let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["http.routers.dangling.service", "http.routers.bad.rule"]
    );
    assert_eq!(errors[1].file, file(&s, "r.toml"));
}

#[test]
fn snapshot_of_shipped_config() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/proxyd.toml");
    let st = load_static(&path).unwrap();
    let snap = load_snapshot(&st, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snap.tables.len(), st.entry_points.len());
    assert_eq!(snap.tables[0].len(), snap.routers.len());
}
