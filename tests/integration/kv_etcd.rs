//! The etcd provider against a real `etcd`: keys in Traefik's layout are
//! served within the throttle, changes and deletions take effect, a
//! transaction is one reload, and a store that goes away leaves traffic
//! untouched until it is back.

use std::time::Duration;

use crate::common::client::get;
use crate::kv_store::*;

fn provider(s: &Store) -> String {
    format!("[providers.etcd]\nendpoints = [\"{}\"]\n", s.endpoint())
}

fn put(s: &Store, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        etcdctl(s, &["put", k, v], "");
    }
}

#[test]
fn etcd_keys_are_served_changed_and_deleted() {
    let store = etcd();
    let p = proxy(&provider(&store));
    put(&store, &respond_pairs("app", "app.test", "v1"));
    wait_body(&p, "app.test", "v1");
    etcdctl(
        &store,
        &["put", "traefik/http/services/app/respond/body", "v2"],
        "",
    );
    wait_body(&p, "app.test", "v2");
    etcdctl(&store, &["del", "--prefix", "traefik/http/"], "");
    wait_status(&p, "app.test", 404);
}

#[test]
fn etcd_transaction_is_one_reload() {
    let store = etcd();
    let p = proxy(&provider(&store));
    // etcdctl txn reads: compares, blank line, success requests, blank line,
    // failure requests.
    let mut script = String::from("\n");
    for i in 0..20 {
        for (k, v) in respond_pairs(&format!("r{i}"), &format!("r{i}.test"), "tx") {
            script += &format!("put {k} \"{v}\"\n");
        }
    }
    script += "\n\n";
    etcdctl(&store, &["txn"], &script);
    expect_reloads(&p, 1, "one etcd transaction of 60 keys");
    assert_eq!(get(p.addr(), "r19.test", "/").text(), "tx");
}

#[test]
fn etcd_lost_and_back_keeps_serving_and_resumes_watching() {
    let mut store = etcd();
    let p = proxy(&provider(&store));
    put(&store, &respond_pairs("app", "app.test", "v1"));
    wait_body(&p, "app.test", "v1");
    store.stop();
    assert!(
        p.wait_log("store unreachable", CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
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
    etcdctl(
        &store,
        &["put", "traefik/http/services/app/respond/body", "v2"],
        "",
    );
    wait_body(&p, "app.test", "v2");
}

/// One etcd transaction putting every pair (`etcdctl txn`: compares, blank
/// line, success requests, blank line, failure requests).
fn put_txn(s: &Store, pairs: &[(String, String)]) {
    let mut script = String::from("\n");
    for (k, v) in pairs {
        script += &format!("put {k} \"{v}\"\n");
    }
    etcdctl(s, &["txn"], &(script + "\n\n"));
}

/// The same dynamic configuration as a file and as etcd keys: the API
/// documents are the same but for the provider.
#[test]
fn etcd_and_file_give_the_same_api_documents() {
    let store = etcd();
    same_api_documents(&provider(&store), "etcd", |pairs| put_txn(&store, pairs));
}

/// Two proxyd processes on one etcd: each transaction is one reload in each,
/// so they serve the same content at the same generation.
#[test]
fn two_proxies_on_one_etcd_converge() {
    let store = etcd();
    let (a, b) = (proxy(&provider(&store)), proxy(&provider(&store)));
    for (generation, body) in [(2, "v1"), (3, "v2")] {
        put_txn(&store, &respond_pairs("app", "app.test", body));
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
