//! A middleware's per-worker state over reloads: kept when the reload leaves
//! its definition (and the files it reads) unchanged, started afresh when
//! either changes. Seen through basicAuth's credential cache: proxyd logs (at
//! debug level) each password it checks for real rather than from the cache.

use base64::Engine;

use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::reload::{respond, wait_generation, write_renamed};

/// `bc:hello3` (bcrypt, cost 5).
const BCRYPT: &str = "bc:$2y$05$ih3C91zUBSTFcAh2mQnZYuob0UOZVEf16wl/ukgjDhjvj.xgM1WwS";
const CHECKED: &str = "checked the password of user bc";

fn guarded(up: &Upstream, realm: &str) -> String {
    format!(
        "{}middlewares = [\"auth\"]\n{}[http.middlewares.auth.basicAuth]\nusers = [{}]\nrealm = \"{realm}\"\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[up.url()]),
        config::toml_str(BCRYPT),
    )
}

fn authorized(p: &Proxy) -> u16 {
    let b64 = base64::engine::general_purpose::STANDARD.encode("bc:hello3");
    let mut c = client::Client::connect(p.addr());
    let r = c.request(&format!(
        "GET / HTTP/1.1\r\nHost: app.test\r\nAuthorization: Basic {b64}\r\n\r\n"
    ));
    r.status
}

#[test]
fn middleware_state_carried_over_a_reload_that_keeps_its_definition() {
    let up = Upstream::echo("up");
    let mut cfg = ProxyConfig::new(&guarded(&up, "one")).watched(Some("50ms"));
    cfg.log_level = "DEBUG";
    cfg.dynamic
        .push(("other.toml".into(), respond("o", "o.test", "1")));
    let p = Proxy::start(&cfg);
    let dir = p.dynamic_dir();

    assert_eq!(authorized(&p), 200);
    assert_eq!(authorized(&p), 200);
    assert_eq!(
        p.log_count(CHECKED),
        1,
        "the second request is served from the cache"
    );

    // A reload that touches another file keeps the middleware, and its cache.
    write_renamed(&dir.join("other.toml"), &respond("o", "o.test", "2"));
    wait_generation(&p, 2);
    assert_eq!(authorized(&p), 200);
    assert_eq!(p.log_count(CHECKED), 1, "state kept over the reload");

    // A changed definition starts afresh: the password is checked again.
    write_renamed(&dir.join("dynamic.toml"), &guarded(&up, "two"));
    wait_generation(&p, 3);
    assert_eq!(authorized(&p), 200);
    assert_eq!(
        p.log_count(CHECKED),
        2,
        "state dropped with the old definition"
    );
}
