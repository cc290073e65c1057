//! IP strategies and sets on the cases Traefik's `pkg/ip` tests pin down.

use super::*;
use crate::router::HeaderLookup;

struct Xff(Vec<&'static str>);
impl HeaderLookup for Xff {
    fn any_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        name.eq_ignore_ascii_case(XFF) && self.0.iter().any(|v| f(v.as_bytes()))
    }
}

fn pick(s: &IpStrategy, peer: &str, xff: &[&'static str], trusted: bool) -> Option<String> {
    let headers = Xff(xff.to_vec());
    let req = RequestInfo {
        method: b"GET",
        host: b"h",
        path: b"/",
        query: b"",
        client_ip: peer.parse().unwrap(),
        headers: &headers,
        tls: false,
        forwarded_trusted: trusted,
        client_certs: None,
    };
    s.client_ip(&req).map(|ip| ip.to_string())
}

fn set(entries: &[&str]) -> IpSet {
    let v: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
    IpSet::parse(&v).unwrap()
}

const V6: &str = "::abcd:ffff:c0a8:1";

#[test]
fn remote_addr_with_and_without_ipv6_subnet() {
    let plain = IpStrategy::RemoteAddr { ipv6_subnet: None };
    let sub = IpStrategy::RemoteAddr {
        ipv6_subnet: Some(80),
    };
    assert_eq!(pick(&plain, "192.0.2.1", &[], false).unwrap(), "192.0.2.1");
    assert_eq!(pick(&sub, "192.0.2.1", &[], false).unwrap(), "192.0.2.1");
    assert_eq!(pick(&plain, V6, &[], false).unwrap(), V6);
    assert_eq!(pick(&sub, V6, &[], false).unwrap(), "::abcd:0:0:0");
    // The peer's own X-Forwarded-For never counts.
    assert_eq!(
        pick(&plain, "192.0.2.1", &["1.1.1.1"], true).unwrap(),
        "192.0.2.1"
    );
}

#[test]
fn depth_counts_from_the_right_of_the_first_field() {
    let d = |depth, ipv6_subnet| IpStrategy::Depth { depth, ipv6_subnet };
    let list = "10.0.0.4,10.0.0.3,10.0.0.2,10.0.0.1";
    assert_eq!(
        pick(&d(3, None), "127.0.0.1", &[list], true).unwrap(),
        "10.0.0.3"
    );
    assert_eq!(pick(&d(2, None), "127.0.0.1", &[""], true), None);
    assert_eq!(pick(&d(2, None), "127.0.0.1", &[], true), None);
    assert_eq!(
        pick(&d(2, None), "127.0.0.1", &["10.0.0.2, 10.0.0.1"], true).unwrap(),
        "10.0.0.2"
    );
    assert_eq!(
        pick(&d(3, None), "127.0.0.1", &["10.0.0.2,10.0.0.1"], true),
        None
    );
    let with_v6 = format!("10.0.0.3,{V6},10.0.0.1").leak() as &'static str;
    assert_eq!(
        pick(&d(2, Some(80)), "127.0.0.1", &[with_v6], true).unwrap(),
        "::abcd:0:0:0"
    );
    assert_eq!(
        pick(
            &d(2, Some(80)),
            "127.0.0.1",
            &["10.0.0.3,10.0.0.2,10.0.0.1"],
            true
        )
        .unwrap(),
        "10.0.0.2"
    );
    // Go's Header.Get: only the first field; an entry with a port is split.
    assert_eq!(
        pick(
            &d(1, None),
            "127.0.0.1",
            &["10.0.0.9:443", "10.0.0.1"],
            true
        )
        .unwrap(),
        "10.0.0.9"
    );
    assert_eq!(
        pick(&d(1, None), "127.0.0.1", &["[::1]:80"], true).unwrap(),
        "::1"
    );
    assert_eq!(pick(&d(1, None), "127.0.0.1", &["junk"], true), None);
    // An untrusted peer's header was dropped before middlewares (Traefik).
    assert_eq!(pick(&d(1, None), "127.0.0.1", &["10.0.0.1"], false), None);
}

#[test]
fn excluded_ips_take_the_first_entry_from_the_right_not_excluded() {
    let all = IpStrategy::Excluded(set(&["10.0.0.0/24"]));
    let some = IpStrategy::Excluded(set(&["10.0.0.1", "10.0.0.2"]));
    let list = "10.0.0.4,10.0.0.3,10.0.0.2,10.0.0.1";
    assert_eq!(pick(&all, "127.0.0.1", &[list], true), None);
    assert_eq!(pick(&some, "127.0.0.1", &[list], true).unwrap(), "10.0.0.3");
    assert_eq!(
        pick(&some, "127.0.0.1", &["10.0.0.3, ,10.0.0.1"], true).unwrap(),
        "10.0.0.3"
    );
    assert_eq!(pick(&some, "127.0.0.1", &[list], false), None);
}

#[test]
fn sets_match_ips_and_networks_as_go_does() {
    let s = set(&[
        "10.0.0.1",
        "192.168.0.0/16",
        "2001:db8::/32",
        "::ffff:172.16.0.0/108",
    ]);
    let has = |ip: &str| s.contains(parse_ip(ip.as_bytes()).unwrap());
    assert!(has("10.0.0.1") && has("::ffff:10.0.0.1") && !has("10.0.0.2"));
    assert!(has("192.168.4.5") && has("2001:db8::1") && !has("2001:db9::1"));
    assert!(has("172.16.3.4") && !has("172.32.0.1"));
    assert!(!has("::1"));
    assert!(set(&["10.1.2.3/8"]).contains("10.9.9.9".parse().unwrap()));
    let bad: Vec<String> = vec!["10.0.0.1".into(), "foo".into()];
    assert_eq!(IpSet::parse(&bad).unwrap_err().0, 1);
    for b in ["10.0.0.0/33", "1.2.3", "fe80::1%eth0", ""] {
        assert!(IpSet::parse(&[b.to_string()]).is_err(), "{b}");
    }
    assert_eq!(parse_ip(b"fe80::1%eth0").unwrap().to_string(), "fe80::1");
}
