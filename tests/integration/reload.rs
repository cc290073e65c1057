//! Hot reload through the real binary: the control thread watches the provider,
//! refuses broken files whole, and workers switch on their next request while
//! keeping upstream connections. `load` runs 50 reloads under traffic; `events`
//! checks that each kind of file change is exactly one reload.

mod events;
mod load;

use std::path::Path;
use std::time::Duration;

use crate::common::client::get;
use crate::common::config::{app, lb_service, router};
use crate::common::*;

/// The log line of a published reload (followed by the generation number).
pub const RELOADED: &str = "configuration reloaded generation=";
pub const REFUSED: &str = "configuration reload refused";
/// Per reload: generous for a debug build on a busy two-core machine.
pub const RELOAD_LIMIT: Duration = Duration::from_secs(10);

/// A router `name` for Host(`host`) and a `respond` service `name` answering `body`.
pub fn respond(name: &str, host: &str, body: &str) -> String {
    format!(
        "{}[http.services.{name}.respond]\nbody = \"{body}\"\n",
        router(name, &format!("Host(`{host}`)"), name)
    )
}

/// An editor's save: write a temporary file, rename it over the old one.
pub fn write_renamed(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename over");
}

/// Waits for the log to show generation `g` published.
pub fn wait_generation(p: &Proxy, g: u64) {
    assert!(
        p.wait_log(&format!("{RELOADED}{g} "), RELOAD_LIMIT),
        "generation {g} not published within {RELOAD_LIMIT:?}; log:\n{}",
        p.log_text()
    );
}

/// The log lines refusing a reload.
fn refusals(p: &Proxy) -> Vec<String> {
    p.log_lines()
        .into_iter()
        .filter(|l| l.contains(REFUSED))
        .collect()
}

/// Each broken file is refused as a whole with file, key (line and column for
/// TOML errors) and reason; traffic stays on the last good config throughout.
#[test]
fn broken_files_are_refused_and_the_last_good_config_keeps_serving() {
    let good = respond("app", "app.test", "good");
    let p = Proxy::start(&ProxyConfig::new(&good).watched(Some("100ms")));
    let dir = p.dynamic_dir();
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "syntax.toml",
            "[http.routers.x\nrule = 'Host(`x.test`)'\n",
            &["http.routers.x (line 1 column 16)", "unclosed table"],
        ),
        (
            "unknown.toml",
            "[http.routers.x]\nrule = 'Host(`x.test`)'\nservice = \"app\"\nbogusKey = 1\n",
            &[
                "http.routers.x.bogusKey (line 4 column 1)",
                "unknown field `bogusKey`",
            ],
        ),
        (
            "dangling.toml",
            "[http.routers.x]\nrule = 'Host(`x.test`)'\nservice = \"nope\"\n",
            &["http.routers.x.service", "service `nope` is not defined"],
        ),
        (
            "badrule.toml",
            "[http.routers.x]\nrule = 'Host(`x.test` && Path(`/`)'\nservice = \"app\"\n",
            &["http.routers.x.rule", "invalid rule"],
        ),
    ];
    for (i, (name, text, expected)) in cases.iter().enumerate() {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        assert!(
            p.wait_log_count(REFUSED, i + 1, RELOAD_LIMIT),
            "{name} not refused; log:\n{}",
            p.log_text()
        );
        let line = refusals(&p).pop().unwrap();
        assert!(line.contains(&file.display().to_string()), "file: {line}");
        for want in *expected {
            assert!(line.contains(want), "{name}: {want:?} missing in: {line}");
        }
        let keeps = format!("generation={} keeps serving", i + 1);
        assert!(line.contains(&keeps), "{keeps:?} missing in: {line}");
        let r = get(p.addr(), "app.test", "/");
        assert_eq!((r.status, r.text().as_str()), (200, "good"), "{name}");
        assert_eq!(get(p.addr(), "x.test", "/").status, 404, "{name}");
        // Removing the broken file is a change back to a valid config.
        std::fs::remove_file(&file).unwrap();
        wait_generation(&p, i as u64 + 2);
    }
    // A good change after refusals is published as usual.
    write_renamed(
        &dir.join("dynamic.toml"),
        &respond("app", "app.test", "better"),
    );
    wait_generation(&p, 6);
    assert_eq!(get(p.addr(), "app.test", "/").text(), "better");
    assert_eq!(refusals(&p).len(), 4, "each broken file refused once");
}

/// A reload that leaves a service alone leaves its idle upstream connections
/// alone: the upstream sees no new TCP connection.
#[test]
fn reload_keeps_upstream_connections_of_untouched_services() {
    let up = Upstream::echo("up");
    let base = app(&[up.url()]);
    let p = Proxy::start(&ProxyConfig::new(&base).watched(Some("100ms")));
    let mut keep_alive = Client::connect(p.addr());
    let mut burst = |tag: &str| {
        for i in 0..5 {
            let req = format!("GET /{tag}{i} HTTP/1.1\r\nHost: app.test\r\n\r\n");
            assert_eq!(keep_alive.request(&req).status, 200);
            assert_eq!(get(p.addr(), "app.test", "/").status, 200);
        }
    };
    burst("before");
    assert_eq!(up.connections(), 1, "one worker, sequential requests");

    // Add an unrelated router and service.
    let file = p.dynamic_dir().join("dynamic.toml");
    write_renamed(&file, &format!("{base}{}", respond("other", "o.test", "o")));
    wait_generation(&p, 2);
    assert_eq!(get(p.addr(), "o.test", "/").text(), "o", "new config live");
    burst("after-add");
    // Change the app router's rule; its service stays the same.
    let rule = "Host(`app.test`) || Host(`app2.test`)";
    let changed = format!(
        "{}{}",
        router("app", rule, "app"),
        lb_service("app", &[up.url()])
    );
    write_renamed(&file, &changed);
    wait_generation(&p, 3);
    assert_eq!(get(p.addr(), "app2.test", "/").status, 200, "new rule live");
    burst("after-rule");
    assert_eq!(
        up.connections(),
        1,
        "a reload that did not touch the service opened upstream connections"
    );
    assert!(up.requests().iter().all(|s| s.conn == 1));
}
