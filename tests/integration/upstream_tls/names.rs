//! Server URLs with host names: the configuration loads whether or not a name
//! resolves; a server whose name does not resolve is not picked while another
//! is, and alone answers 502 with a log line naming the host; once the name
//! resolves (proxyd looks again every 2 s), the server takes the traffic.

use std::net::ToSocketAddrs;
use std::time::Duration;

use crate::common::config::app;
use crate::common::*;

const NOWHERE: &str = "nowhere.invalid";

#[test]
fn a_name_that_does_not_resolve_loads_and_answers_502_naming_the_host() {
    let up = Upstream::echo("a");
    let url = format!("http://{NOWHERE}:{}", up.addr().port());
    let p = Proxy::start(&ProxyConfig::new(&app(&[url])));
    let r = client::get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        p.wait_log(
            &format!("server host \"{NOWHERE}\" does not resolve"),
            Duration::from_secs(5)
        ),
        "{}",
        p.log_text()
    );
    assert_eq!(up.connections(), 0);
}

#[test]
fn a_server_whose_name_resolves_takes_the_traffic() {
    let up = Upstream::echo("local");
    let port = up.addr().port();
    let urls = [
        format!("http://{NOWHERE}:{port}"),
        format!("http://localhost:{port}"),
    ];
    let p = Proxy::start(&ProxyConfig::new(&app(&urls)));
    for _ in 0..6 {
        let r = client::get(p.addr(), "app.test", "/");
        assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
        assert_eq!(r.upstream().as_deref(), Some("local"));
    }
}

/// Regression (#12): a name that starts to resolve while proxyd runs is
/// picked up by the resolver thread without a reload. proxyd gets a private
/// `/etc/hosts` (a mount namespace of its own: root only), which the test
/// rewrites in place.
#[test]
fn a_name_that_does_not_resolve_answers_502_and_works_once_it_resolves() {
    if !crate::common::proxy::can_mount() {
        eprintln!("skipped: not root, so proxyd cannot get a private /etc/hosts");
        return;
    }
    const LATER: &str = "resolves-later.test";
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let base = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    std::fs::write(&hosts, &base).unwrap();
    let up = Upstream::echo("later");
    let url = format!("http://{LATER}:{}", up.addr().port());
    let mut cfg = ProxyConfig::new(&app(&[url]));
    cfg.hosts = Some(hosts.clone());
    let p = Proxy::start(&cfg);
    assert_eq!(client::get(p.addr(), "app.test", "/").status, 502);
    // In place (not a rename): the bind mount holds this inode.
    std::fs::write(&hosts, format!("{base}\n127.0.0.1 {LATER}\n")).unwrap();
    assert!(
        p.wait_log(
            &format!("server host {LATER} resolves to 127.0.0.1"),
            Duration::from_secs(10)
        ),
        "{}",
        p.log_text()
    );
    let r = client::get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
    assert_eq!(r.upstream().as_deref(), Some("later"));
    // Nothing outside proxyd saw the name.
    assert!((LATER, 80).to_socket_addrs().is_err());
}
