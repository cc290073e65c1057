//! Stable fuzz target for the rule syntax (`Rule::parse`; the grammar is shared
//! with TCP rules, whose target reuses the tree generator here).
//!
//! Two inputs: expression trees over matchers whose answer for one fixed
//! request is known, rendered with random spacing, quoting and redundant
//! parentheses (the parser must accept them, respect `!` > `&&` > `||`, and
//! agree with a direct evaluation of the tree; the host index must never rule
//! out a host the rule matches), and mutated rule text (no panic, the same
//! answer twice, and a parsed rule evaluates without panic).

use std::net::IpAddr;

use proptest::prelude::*;

use super::{HeaderLookup, RequestInfo, Rule};
use crate::fuzz_tests::{config, mutated};

/// An expression over leaves `(matcher name, args, true for the fixed input)`.
#[derive(Debug, Clone)]
pub enum Tree {
    Leaf(&'static str, &'static [&'static str], bool),
    Not(Box<Tree>),
    And(Box<Tree>, Box<Tree>),
    Or(Box<Tree>, Box<Tree>),
}

impl Tree {
    pub fn eval(&self) -> bool {
        match self {
            Tree::Leaf(_, _, v) => *v,
            Tree::Not(e) => !e.eval(),
            Tree::And(a, b) => a.eval() && b.eval(),
            Tree::Or(a, b) => a.eval() || b.eval(),
        }
    }
}

/// Spacing and quoting choices, consumed while rendering.
#[derive(Debug, Clone)]
pub struct Style(pub Vec<u8>);

impl Style {
    fn next(&mut self) -> u8 {
        let v = self.0.pop().unwrap_or(0);
        self.0.insert(0, v);
        v
    }

    fn space(&mut self) -> &'static str {
        match self.next() % 6 {
            0 => " ",
            1 => "  ",
            2 => "\t",
            3 => "\n ",
            _ => "",
        }
    }
}

fn quote(arg: &str, style: &mut Style) -> String {
    if style.next().is_multiple_of(2) {
        format!("`{arg}`")
    } else {
        format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Renders with the fewest parentheses the precedence needs, plus random ones.
pub fn render(t: &Tree, style: &mut Style) -> String {
    let s = match t {
        Tree::Leaf(name, args, _) => {
            let args: Vec<String> = args.iter().map(|a| quote(a, style)).collect();
            let sep = format!(",{}", style.space());
            format!("{name}({}{})", style.space(), args.join(&sep))
        }
        Tree::Not(e) => format!("!{}", operand(e, 3, style)),
        Tree::And(a, b) => {
            let (a, sp, b) = (operand(a, 2, style), style.space(), operand(b, 3, style));
            format!("{a}{sp}&&{}{b}", style.space())
        }
        Tree::Or(a, b) => {
            let (a, sp, b) = (operand(a, 1, style), style.space(), operand(b, 2, style));
            format!("{a}{sp}||{}{b}", style.space())
        }
    };
    if style.next().is_multiple_of(8) {
        format!("({s})")
    } else {
        s
    }
}

/// `e` rendered where an operator of binding `level` needs it (3: `!`,
/// 2: `&&`, 1: `||`); the right side of `&&`/`||` is one level tighter, which
/// keeps the tree's shape even though the operators are associative.
fn operand(e: &Tree, level: u8, style: &mut Style) -> String {
    let own = match e {
        Tree::Leaf(..) | Tree::Not(_) => 3,
        Tree::And(..) => 2,
        Tree::Or(..) => 1,
    };
    let s = render(e, style);
    if own < level { format!("({s})") } else { s }
}

/// Trees over `leaves`, up to about 16 nodes.
pub fn trees(
    leaves: &'static [(&'static str, &'static [&'static str], bool)],
) -> BoxedStrategy<Tree> {
    let leaf = prop::sample::select(leaves).prop_map(|(n, a, v)| Tree::Leaf(n, a, v));
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Tree::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Tree::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Tree::Or(Box::new(a), Box::new(b))),
        ]
    })
    .boxed()
}

/// Leaves and their value for [`request`].
const LEAVES: &[(&str, &[&str], bool)] = &[
    ("Host", &["a.test"], true),
    ("Host", &["A.Test."], true),
    ("Host", &["b.test"], false),
    ("HostRegexp", &["^a\\.te"], true),
    ("HostRegexp", &["^b"], false),
    ("Method", &["get"], true),
    ("Method", &["POST"], false),
    ("Path", &["/api/x"], true),
    ("Path", &["/api"], false),
    ("PathPrefix", &["/api"], true),
    ("PathPrefix", &["/b"], false),
    ("PathRegexp", &["^/api/[a-z]$"], true),
    ("Header", &["x-a", "1"], true),
    ("Header", &["X-A", "2"], false),
    ("HeaderRegexp", &["X-A", "^[0-9]+$"], true),
    ("Query", &["k", "v"], true),
    ("Query", &["k"], true),
    ("Query", &["z"], false),
    ("QueryRegexp", &["k", "^v"], true),
    ("ClientIP", &["10.0.0.0/8"], true),
    ("ClientIP", &["::ffff:10.1.2.3"], true),
    ("ClientIP", &["192.168.0.1"], false),
];

struct Headers;

impl HeaderLookup for Headers {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        name.eq_ignore_ascii_case("x-a") && f(b"1")
    }
}

fn request() -> RequestInfo<'static> {
    RequestInfo {
        method: b"GET",
        host: b"a.test:8080",
        path: b"/api/x",
        query: b"k=v&j",
        client_ip: IpAddr::from([10, 1, 2, 3]),
        headers: &Headers,
        tls: false,
        forwarded_trusted: false,
        client_certs: None,
    }
}

/// Checks a rule that parsed: evaluation, and that its host set (the table's
/// index) keeps the request's host whenever the rule matches it.
fn check_parsed(rule: &Rule) -> Result<bool, TestCaseError> {
    let matched = rule.matches(&request());
    if matched && let Some(hosts) = rule.hosts() {
        prop_assert!(
            hosts.iter().any(|h| h == "a.test"),
            "{:?} left out a.test",
            hosts
        );
    }
    Ok(matched)
}

const SEEDS: &[&str] = &[
    "Host(`a.test`)",
    "Host(`a.test`) && PathPrefix(`/api`) || !Method(\"POST\")",
    "(Host(`a.test`) || Host(`b.test`)) && !(Path(`/x`) || Query(`k`, `v`))",
    "HostRegexp(`^[a-z]+\\.test$`) && Header(`X-A`, `1`)",
    "QueryRegexp(`k`, \"^v\\\\d\") || ClientIP(`10.0.0.0/8`) || ClientIP(`::1`)",
    "PathRegexp(`^/(a|b)/.*`) && HeaderRegexp(`User-Agent`, `curl`)",
    "Host(`a`, `b`)",
    "Host(`a`) &&",
    "Path('/x')",
    "Bogus(`x`)",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_rule_tree_agrees_with_evaluation(tree in trees(LEAVES), style: Vec<u8>) {
        let text = render(&tree, &mut Style(style));
        let rule = Rule::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(check_parsed(&rule)?, tree.eval(), "{}", text);
    }

    #[test]
    fn fuzz_rule_text(
        bytes in mutated(SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect()),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        let first = Rule::parse(&text).map(|r| format!("{r:?}")).map_err(|e| e.0);
        let again = Rule::parse(&text).map(|r| format!("{r:?}")).map_err(|e| e.0);
        prop_assert_eq!(&first, &again);
        if let Ok(rule) = Rule::parse(&text) {
            check_parsed(&rule)?;
        }
    }
}
