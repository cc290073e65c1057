//! The Redis provider against a real `redis-server`: keys in Traefik's layout
//! are served within the throttle, changes and deletions take effect, a
//! `MULTI`/`EXEC` is one reload, a bad value is refused with its key, and a
//! store that goes away leaves traffic untouched until it is back.

use std::time::Duration;

use crate::common::client::get;
use crate::kv_store::*;

fn provider(s: &Store) -> String {
    format!("[providers.redis]\nendpoints = [\"{}\"]\n", s.endpoint())
}

fn set(s: &Store, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        redis_cli(s, &["SET", k, v], "");
    }
}

#[test]
fn redis_keys_are_served_changed_and_deleted() {
    let store = redis("KA");
    let p = proxy(&provider(&store));
    set(&store, &respond_pairs("app", "app.test", "v1"));
    wait_body(&p, "app.test", "v1");
    redis_cli(
        &store,
        &["SET", "traefik/http/services/app/respond/body", "v2"],
        "",
    );
    wait_body(&p, "app.test", "v2");
    let keys: Vec<String> = respond_pairs("app", "", "")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut del = vec!["DEL"];
    del.extend(keys.iter().map(String::as_str));
    redis_cli(&store, &del, "");
    wait_status(&p, "app.test", 404);
}

#[test]
fn redis_transaction_is_one_reload() {
    let store = redis("KA");
    let p = proxy(&provider(&store));
    let mut script = String::from("MULTI\n");
    for i in 0..20 {
        for (k, v) in respond_pairs(&format!("r{i}"), &format!("r{i}.test"), "tx") {
            script += &format!("SET \"{k}\" \"{v}\"\n");
        }
    }
    script += "EXEC\n";
    redis_cli(&store, &[], &script);
    expect_reloads(&p, 1, "one MULTI/EXEC of 60 keys");
    assert_eq!(get(p.addr(), "r19.test", "/").text(), "tx");
}

#[test]
fn redis_without_notifications_is_polled() {
    let store = redis("");
    let p = proxy(&provider(&store));
    assert!(
        p.wait_log("keyspace notifications are off", CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
    set(&store, &respond_pairs("app", "app.test", "polled"));
    wait_body(&p, "app.test", "polled");
}

#[test]
fn redis_bad_value_is_refused_with_its_key() {
    let store = redis("KA");
    let p = proxy(&provider(&store));
    set(&store, &respond_pairs("app", "app.test", "good"));
    wait_body(&p, "app.test", "good");
    redis_cli(
        &store,
        &["SET", "traefik/http/routers/app/priority", "high"],
        "",
    );
    // Separate SETs may show a half-written router first: look for this key's.
    let refused = "redis: traefik/http/routers/app/priority: invalid integer \"high\"";
    assert!(p.wait_log(refused, CHANGE_LIMIT), "{}", p.log_text());
    assert!(
        p.log_lines()
            .iter()
            .any(|l| l.contains(REFUSED) && l.contains(refused))
    );
    assert_eq!(
        get(p.addr(), "app.test", "/").text(),
        "good",
        "last good config"
    );
}

#[test]
fn redis_lost_and_back_keeps_serving_and_resumes_watching() {
    let mut store = redis("KA");
    let p = proxy(&provider(&store));
    set(&store, &respond_pairs("app", "app.test", "v1"));
    wait_body(&p, "app.test", "v1");
    wait_provider_up(&p, "redis", true);
    store.stop();
    assert!(
        p.wait_log("store unreachable", CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
    wait_provider_up(&p, "redis", false);
    // A reload while the store is away (SIGHUP publishes even unchanged
    // input) must keep the store's last good configuration.
    let before = p.log_count(RELOADED);
    p.signal(libc::SIGHUP);
    assert!(
        p.wait_log_count(RELOADED, before + 1, CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
    for _ in 0..20 {
        assert_eq!(
            get(p.addr(), "app.test", "/").text(),
            "v1",
            "served while down"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    store.restart();
    assert!(
        p.wait_log("store reachable", CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
    redis_cli(
        &store,
        &["SET", "traefik/http/services/app/respond/body", "v2"],
        "",
    );
    wait_body(&p, "app.test", "v2");
    assert_eq!(
        p.log_count("store unreachable"),
        1,
        "logged once per state change"
    );
}

#[test]
fn redis_down_at_start_starts_with_the_files_and_adds_it_later() {
    let mut store = redis("KA");
    set(&store, &respond_pairs("app", "app.test", "late"));
    store.stop();
    let p = proxy(&provider(&store));
    assert_eq!(get(p.addr(), "app.test", "/").status, 404);
    store.restart();
    wait_body(&p, "app.test", "late");
}

/// Guards the read that failed once the watch was connected: a Redis still
/// loading its data accepts the watch (`CONFIG GET`, `PSUBSCRIBE`) but answers
/// the read with `LOADING`, and loading sends no notification, so the store
/// stayed unread (and marked down) until some key changed. It is read again
/// within a poll interval instead. Loading is slowed down to 4 s (`key-load-delay`
/// per key), longer than any wait of the reconnect backoff until then, so a
/// reconnect lands in it whatever the machine's load.
#[test]
fn redis_still_loading_when_the_watch_connects_is_read_once_loaded() {
    let mut store = redis("KA");
    set(&store, &respond_pairs("app", "app.test", "loaded"));
    let filler: Vec<(String, String)> = (0..40)
        .map(|i| (format!("other/fill{i}"), "x".repeat(300)))
        .collect();
    set(&store, &filler);
    // Uncompressed, the snapshot is big enough (12 KB) for Redis to answer
    // clients every few keys while it loads it.
    redis_cli(&store, &["CONFIG", "SET", "rdbcompression", "no"], "");
    redis_cli(&store, &["SAVE"], "");
    store.stop();
    let p = proxy(&provider(&store));
    assert_eq!(get(p.addr(), "app.test", "/").status, 404);
    // From the snapshot just saved (not the append-only file), 100 ms a key,
    // answering clients between keys.
    store.server_args = ["--appendonly", "no", "--key-load-delay", "100000"]
        .into_iter()
        .chain(["--loading-process-events-interval-bytes", "1024"])
        .map(String::from)
        .collect();
    store.restart();
    assert!(
        p.wait_log("LOADING", CHANGE_LIMIT),
        "the watch never met the store loading; log:\n{}",
        p.log_text()
    );
    wait_body(&p, "app.test", "loaded");
    wait_provider_up(&p, "redis", true);
}

/// The same dynamic configuration as a file and as Redis keys: the API
/// documents are the same but for the provider in names and `provider`.
#[test]
fn redis_and_file_give_the_same_api_documents() {
    let store = redis("KA");
    same_api_documents(&provider(&store), "redis", |pairs| {
        let mut script = String::from("MULTI\n");
        for (k, v) in pairs {
            script += &format!("SET \"{k}\" \"{v}\"\n");
        }
        redis_cli(&store, &[], &(script + "EXEC\n"));
    });
}

/// `proxyd check` reads the store once: its content is validated, and a store
/// that cannot be read fails the check.
#[test]
fn redis_is_read_by_check() {
    use crate::common::ProxyConfig;
    use crate::common::proxy::run_to_exit;
    let mut store = redis("KA");
    set(&store, &respond_pairs("app", "app.test", "ok"));
    let mut cfg = ProxyConfig::new("");
    cfg.extra_static = provider(&store);
    let (_dir, file) = cfg.write();
    let check = || {
        run_to_exit(
            &["check", "--config", file.to_str().unwrap()],
            None,
            CHANGE_LIMIT,
        )
    };
    let out = check();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");

    redis_cli(
        &store,
        &["SET", "traefik/http/routers/app/priority", "high"],
        "",
    );
    let out = check();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        err.contains("redis: traefik/http/routers/app/priority: invalid integer \"high\""),
        "{err}"
    );

    store.stop();
    let out = check();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        err.contains("providers.redis: endpoints: cannot read the store"),
        "{err}"
    );
}

/// Two proxyd processes on one store: each write (one transaction) is one
/// reload in each, so they serve the same content at the same generation.
#[test]
fn two_proxies_on_one_redis_converge() {
    let store = redis("KA");
    let (a, b) = (proxy(&provider(&store)), proxy(&provider(&store)));
    for (generation, body) in [(2, "v1"), (3, "v2")] {
        let mut script = String::from("MULTI\n");
        for (k, v) in respond_pairs("app", "app.test", body) {
            script += &format!("SET \"{k}\" \"{v}\"\n");
        }
        redis_cli(&store, &[], &(script + "EXEC\n"));
        for p in [&a, &b] {
            wait_body(p, "app.test", body);
            let line = format!("{RELOADED}{generation} ");
            assert!(p.wait_log(&line, CHANGE_LIMIT), "{}", p.log_text());
        }
    }
    std::thread::sleep(SETTLE);
    assert_eq!(a.log_count(RELOADED), 2, "{}", a.log_text());
    assert_eq!(b.log_count(RELOADED), 2, "{}", b.log_text());
}
