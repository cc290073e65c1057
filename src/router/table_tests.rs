//! Table tests: priority order and tie-break, a 10k-host table, and a property
//! test that the host index answers exactly like a linear scan.

use proptest::prelude::*;

use super::tests::req;
use super::{RequestInfo, RouteEntry, RouterTable, Rule};

fn entry(src: &str, priority: i64, name: &str, id: u32) -> RouteEntry {
    RouteEntry {
        rule: Rule::parse(src).unwrap_or_else(|e| panic!("{src}: {e}")),
        priority,
        name: name.to_owned(),
        id,
    }
}

/// The reference semantics: sort like `build`, then take the first match.
fn linear(entries: &[(String, i64, String, u32)], r: &RequestInfo<'_>) -> Option<u32> {
    let mut sorted: Vec<_> = entries.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(&b.2)));
    sorted
        .into_iter()
        .find(|(src, ..)| Rule::parse(src).unwrap().matches(r))
        .map(|e| e.3)
}

#[test]
fn priority_then_name() {
    let t = RouterTable::build(vec![
        entry("PathPrefix(`/`)", 1, "catchall", 1),
        entry("Host(`a.com`)", 20, "zeta", 2),
        entry("Host(`a.com`) && PathPrefix(`/api`)", 20, "alpha", 3),
        entry("PathPrefix(`/api`)", 30, "api", 4),
    ]);
    assert_eq!(t.len(), 4);
    assert!(!t.is_empty());
    assert_eq!(t.find(&req("a.com", "/api/x")), Some(4));
    assert_eq!(t.find(&req("a.com", "/other")), Some(2));
    assert_eq!(t.find(&req("b.com", "/other")), Some(1));
    // Equal priority: "alpha" sorts before "zeta".
    let t = RouterTable::build(vec![
        entry("Host(`a.com`)", 5, "zeta", 2),
        entry("Host(`a.com`) && PathPrefix(`/`)", 5, "alpha", 3),
    ]);
    assert_eq!(t.find(&req("A.COM:80", "/")), Some(3));
}

/// Equal priorities are decided by name, across the host index and the fallback
/// list, whatever order the routers arrive in: every permutation is fed, since
/// the compiler hands them over already sorted by name.
#[test]
fn equal_priority_tie_break_is_by_name_in_any_input_order() {
    let entries = [
        ("Host(`a.com`)", "zeta", 1),
        ("PathPrefix(`/`)", "mid", 2),
        ("Host(`a.com`) && Path(`/x`)", "alpha", 3),
    ];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let t = RouterTable::build(
            order
                .iter()
                .map(|&i| entry(entries[i].0, 5, entries[i].1, entries[i].2))
                .collect(),
        );
        assert_eq!(t.find(&req("a.com", "/x")), Some(3), "{order:?}: alpha");
        assert_eq!(t.find(&req("a.com", "/y")), Some(2), "{order:?}: mid");
        assert_eq!(t.find(&req("b.com", "/x")), Some(2), "{order:?}: fallback");
    }
}

#[test]
fn default_priority_prefers_longer_rules() {
    let srcs = ["Host(`a.com`)", "Host(`a.com`) && PathPrefix(`/api`)"];
    let t = RouterTable::build(
        srcs.iter()
            .enumerate()
            .map(|(i, s)| entry(s, Rule::default_priority(s), &format!("r{i}"), i as u32))
            .collect(),
    );
    assert_eq!(t.find(&req("a.com", "/api")), Some(1));
    assert_eq!(t.find(&req("a.com", "/web")), Some(0));
}

#[test]
fn empty_table_and_impossible_rule() {
    let t = RouterTable::build(Vec::new());
    assert!(t.is_empty());
    assert_eq!(t.find(&req("a.com", "/")), None);
    let t = RouterTable::build(vec![entry("Host(`a`) && Host(`b`)", 1, "never", 1)]);
    assert_eq!(t.find(&req("a", "/")), None);
    assert_eq!(t.find(&req("b", "/")), None);
}

#[test]
fn ten_thousand_hosts() {
    let n = 10_000u32;
    let mut routes: Vec<RouteEntry> = (0..n)
        .map(|i| {
            entry(
                &format!("Host(`svc{i}.example.com`)"),
                10,
                &format!("r{i:05}"),
                i,
            )
        })
        .collect();
    routes.push(entry(
        "Host(`svc7.example.com`) && PathPrefix(`/admin`)",
        50,
        "admin",
        n,
    ));
    routes.push(entry("PathPrefix(`/.well-known/`)", 100, "acme", n + 1));
    routes.push(entry("PathPrefix(`/`)", 1, "default", n + 2));
    let t = RouterTable::build(routes);
    assert_eq!(t.len(), n as usize + 3);
    for i in (0..n).step_by(97) {
        let host = format!("SVC{i}.example.com:443");
        assert_eq!(t.find(&req(&host, "/x")), Some(i));
    }
    assert_eq!(t.find(&req("svc7.example.com", "/admin/x")), Some(n));
    assert_eq!(
        t.find(&req("svc7.example.com", "/.well-known/x")),
        Some(n + 1)
    );
    assert_eq!(t.find(&req("unknown.example.com", "/x")), Some(n + 2));
}

const HOSTS: [&str; 4] = ["a.com", "b.com", "c.org", "d.net"];
const PATHS: [&str; 4] = ["/", "/api", "/api/v1", "/x"];

fn rule_src() -> impl Strategy<Value = String> {
    let h = || prop::sample::select(&HOSTS[..]);
    let p = || prop::sample::select(&PATHS[..]);
    prop_oneof![
        h().prop_map(|h| format!("Host(`{h}`)")),
        (h(), p()).prop_map(|(h, p)| format!("Host(`{h}`) && PathPrefix(`{p}`)")),
        (h(), h()).prop_map(|(a, b)| format!("(Host(`{a}`) || Host(`{b}`)) && Method(`GET`)")),
        (h(), h()).prop_map(|(a, b)| format!("Host(`{a}`) && Host(`{b}`)")),
        (h(), p()).prop_map(|(h, p)| format!("Host(`{h}`) || PathPrefix(`{p}`)")),
        h().prop_map(|h| format!("!Host(`{h}`)")),
        p().prop_map(|p| format!("PathPrefix(`{p}`)")),
        (h(), p()).prop_map(|(h, p)| format!("Path(`{p}`) && !Host(`{h}`)")),
        Just(r"HostRegexp(`^[ab]\.com$`)".to_string()),
        Just("Method(`POST`)".to_string()),
    ]
}

fn host_variant() -> impl Strategy<Value = String> {
    let base = prop::sample::select(&["a.com", "b.com", "c.org", "d.net", "zzz.io", ""][..]);
    (base, 0..4u8).prop_map(|(h, v)| match v {
        0 => h.to_string(),
        1 => h.to_uppercase(),
        2 => format!("{h}:8080"),
        _ => format!("{h}."),
    })
}

proptest! {
    #[test]
    fn index_agrees_with_linear_scan(
        entries in prop::collection::vec((rule_src(), 0..4i64, "[a-c]"), 0..40),
        requests in prop::collection::vec(
            (host_variant(), prop::sample::select(&PATHS[..]), any::<bool>()), 1..20),
    ) {
        let entries: Vec<(String, i64, String, u32)> = entries
            .into_iter()
            .enumerate()
            .map(|(i, (src, prio, name))| (src, prio, name, i as u32))
            .collect();
        let table = RouterTable::build(
            entries.iter().map(|(s, p, n, id)| entry(s, *p, n, *id)).collect(),
        );
        for (host, path, post) in &requests {
            let mut r = req(host, path);
            if *post {
                r.method = b"POST";
            }
            prop_assert_eq!(table.find(&r), linear(&entries, &r), "host {} path {}", host, path);
        }
    }
}
