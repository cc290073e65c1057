//! errors against Traefik's `customerrors`: a caught status gets the page
//! the error service serves at the query (`{status}`, `{originalStatus}`,
//! `{url}` filled in) with the original status, or the rewritten one; the
//! original body and fields are dropped; other statuses pass untouched; the
//! proxy's own 502 is caught too; the error service down leaves the status
//! with its failure text.

use crate::common::client::{Client, request};
use crate::common::config::{lb_service, router};
use crate::common::*;

/// Router `r` on every path through errors `e` (with `def`) to `app`; the
/// error service `pages` at `pages`.
fn caught(app: &str, pages: &str, def: &str) -> String {
    format!(
        "{}middlewares = [\"e\"]\n{}{}[http.middlewares.e.errors]\nservice = \"pages\"\n{def}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[app.to_string()]),
        lb_service("pages", &[pages.to_string()]),
    )
}

#[test]
fn a_caught_5xx_gets_the_page_with_its_status_and_other_statuses_pass() {
    let app = Upstream::start(
        "app",
        Behavior::fixed(503, b"original body").header("X-Orig", "1"),
    );
    let pages = Upstream::start(
        "pages",
        Behavior::fixed(200, b"sorry").header("X-Page", "p"),
    );
    let def = "status = [\"500-599\"]\nquery = \"err/{status}?u={url}\"\n";
    let p = Proxy::start(&ProxyConfig::new(&caught(&app.url(), &pages.url(), def)));
    let mut c = Client::connect(p.addr());
    let r = c.request("GET /p?q=1 HTTP/1.1\r\nHost: app.test\r\nX-Client: c\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (503, "sorry"));
    assert_eq!(r.header("X-Page"), Some("p"));
    assert_eq!(r.header("X-Orig"), None, "the original fields are dropped");
    let seen = pages.only_request();
    assert_eq!(
        seen.request_line(),
        "GET /err/503?u=http%3A%2F%2Fapp.test%2Fp%3Fq%3D1 HTTP/1.1"
    );
    assert_eq!(seen.header("Host"), Some("app.test"));
    assert_eq!(seen.header("X-Client"), Some("c"));
    // The connection (and the upstream's, whose body was read) stays usable.
    let r = c.request("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (503, "sorry"));
    assert_eq!(
        app.connections(),
        1,
        "the caught response's connection was reused"
    );

    let ok = Upstream::start("ok", Behavior::fixed(200, b"fine"));
    let p = Proxy::start(&ProxyConfig::new(&caught(&ok.url(), &pages.url(), def)));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "fine"));
    assert_eq!(pages.requests().len(), 2, "a 200 fetches no page");
}

#[test]
fn a_404_range_with_a_rewrite_sends_the_new_status() {
    let app = Upstream::start("app", Behavior::fixed(404, b"nope"));
    let pages = Upstream::start("pages", Behavior::fixed(200, b"gone"));
    let def = "status = [\"404\"]\nquery = \"/{status}/{originalStatus}\"\n\
               [http.middlewares.e.errors.statusRewrites]\n\"404\" = 410\n";
    let p = Proxy::start(&ProxyConfig::new(&caught(&app.url(), &pages.url(), def)));
    let r = request(p.addr(), "GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (410, "gone"));
    assert_eq!(pages.only_request().target, "/410/404");
}

#[test]
fn the_proxys_own_502_is_caught() {
    let pages = Upstream::start("pages", Behavior::fixed(200, b"down for now"));
    let def = "status = [\"502\"]\nquery = \"/{status}\"\n";
    let p = Proxy::start(&ProxyConfig::new(&caught(
        &refused_url(),
        &pages.url(),
        def,
    )));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (502, "down for now"));
    assert_eq!(pages.only_request().target, "/502");
}

#[test]
fn the_error_service_down_leaves_the_status_with_its_failure_text() {
    let app = Upstream::start("app", Behavior::fixed(503, b"original body"));
    let def = "status = [\"500-599\"]\n";
    let p = Proxy::start(&ProxyConfig::new(&caught(&app.url(), &refused_url(), def)));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 503);
    assert!(r.text().contains("Bad Gateway"), "{}", r.text());
    assert!(
        p.wait_log("error page for status 503 failed", LOG_WAIT),
        "{}",
        p.log_text()
    );
}

#[test]
fn a_weighted_error_service_serves_the_page_from_its_load_balancer() {
    let app = Upstream::start("app", Behavior::fixed(503, b"original body"));
    let pages = Upstream::start("pages", Behavior::fixed(200, b"sorry"));
    let text = format!(
        "{}middlewares = [\"e\"]\n{}{}[http.middlewares.e.errors]\nservice = \"pages\"\n\
         status = [\"500-599\"]\nquery = \"err/{{status}}\"\n\
         [http.services.pages.weighted]\nservices = [{{ name = \"pages-lb\", weight = 1 }}]\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[app.url()]),
        lb_service("pages-lb", &[pages.url()]),
    );
    let p = Proxy::start(&ProxyConfig::new(&text));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (503, "sorry"));
    assert_eq!(pages.only_request().request_line(), "GET /err/503 HTTP/1.1");
}
