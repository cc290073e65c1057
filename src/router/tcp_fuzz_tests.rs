//! Stable fuzz target for TCP rule syntax (`TcpRule::parse`): the HTTP rules'
//! expression trees (`router::fuzz_tests`) over TCP matchers whose answer for
//! one fixed connection is known, and mutated rule text. Properties: a
//! rendered tree parses and agrees with evaluating the tree directly; any text
//! gives the same answer twice and a parsed rule evaluates without panic.

use std::net::IpAddr;

use proptest::prelude::*;

use super::tcp::{ConnInfo, TcpRule};
use crate::fuzz_tests::{config, mutated};
use crate::router::fuzz_tests::{Style, render, trees};

/// Leaves and their value for the connection built in [`check`].
const LEAVES: &[(&str, &[&str], bool)] = &[
    ("HostSNI", &["*"], true),
    ("HostSNI", &["A.test."], true),
    ("HostSNI", &["b.test"], false),
    ("HostSNIRegexp", &["^a\\.test$"], true),
    ("HostSNIRegexp", &["^b"], false),
    ("ALPN", &["h2"], true),
    ("ALPN", &["http/1.1"], false),
    ("ClientIP", &["2001:db8::/32"], true),
    ("ClientIP", &["10.0.0.1"], false),
];

const SEEDS: &[&str] = &[
    "HostSNI(`*`)",
    "HostSNI(`a.test`) && ALPN(`h2`)",
    "(HostSNI(`a.test`) || HostSNIRegexp(\"^.+\\\\.db$\")) && !ClientIP(`10.0.0.0/8`)",
    "HostSNI(`a`, `b`)",
    "Host(`a.test`)",
    "ALPN(``)",
];

/// Evaluates `rule` for SNI `a.test`, ALPN `h2`, client 2001:db8::1.
fn check(rule: &TcpRule) -> bool {
    let _ = rule.needs_tls();
    let alpn = [b"h2".to_vec()];
    let ip: IpAddr = "2001:db8::1".parse().expect("literal address");
    rule.matches(&ConnInfo {
        sni: Some("a.test"),
        alpn: &alpn,
        client_ip: ip,
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_tcp_rule_tree_agrees_with_evaluation(tree in trees(LEAVES), style: Vec<u8>) {
        let text = render(&tree, &mut Style(style));
        let rule = TcpRule::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(check(&rule), tree.eval(), "{}", text);
    }

    #[test]
    fn fuzz_tcp_rule_text(
        bytes in mutated(SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect()),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        let first = TcpRule::parse(&text).map(|r| format!("{r:?}")).map_err(|e| e.0);
        let again = TcpRule::parse(&text).map(|r| format!("{r:?}")).map_err(|e| e.0);
        prop_assert_eq!(&first, &again);
        if let Ok(rule) = TcpRule::parse(&text) {
            check(&rule);
        }
    }
}
