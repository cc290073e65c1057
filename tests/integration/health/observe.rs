//! The state the prober publishes, as the metrics and the API show it.

use super::*;
use crate::observe::{api, scrape_until, with_admin};

#[test]
fn metrics_and_api_show_each_servers_state() {
    let (a, b) = (
        HealthUpstream::start("a", "/health"),
        HealthUpstream::start("b", "/health"),
    );
    b.set_status(500);
    let health = "path = \"/health\"\ninterval = \"100ms\"\n";
    let cfg = with_admin(
        ProxyConfig::new(&checked_app(&[a.url(), b.url()], health)),
        "[metrics.prometheus]\n[api]\ninsecure = true\n",
    );
    let p = Proxy::start(&cfg);
    wait_change(&p, &b, "DOWN");

    let line = |u: &HealthUpstream, v: u8| {
        format!(
            "proxyd_service_server_up{{service=\"app@file\",url=\"{}\"}} {v}",
            u.url()
        )
    };
    let text = scrape_until(&p, |t| t.contains(&line(&b, 0)));
    assert!(text.contains(&line(&b, 0)), "{text}");
    assert!(text.contains(&line(&a, 1)), "{text}");
    let (status, doc) = api(&p, "/api/http/services/app@file");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["serverStatus"][a.url()], "UP");
    assert_eq!(doc["serverStatus"][b.url()], "DOWN");
    let hc = &doc["loadBalancer"]["healthCheck"];
    assert_eq!(
        (hc["path"].as_str(), hc["interval"].as_str()),
        (Some("/health"), Some("100ms"))
    );

    b.set_status(200);
    wait_change(&p, &b, "UP");
    let text = scrape_until(&p, |t| t.contains(&line(&b, 1)));
    assert!(text.contains(&line(&b, 1)), "{text}");
    assert_eq!(
        api(&p, "/api/http/services/app@file").1["serverStatus"][b.url()],
        "UP"
    );
}
