//! Server URLs with host names: the configuration loads whether or not a name
//! resolves; a server whose name does not resolve is not picked while another
//! is, and alone answers 502 with a log line naming the host.

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
