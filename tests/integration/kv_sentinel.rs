//! `providers.redis.sentinel` against real `redis-sentinel`: the endpoints are
//! sentinels, the configuration is read from the master they name, and a
//! failover (the replica promoted, the old master gone) is followed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::poll_until;
use crate::kv_store::*;

const MASTER_NAME: &str = "mymaster";

/// A replica of the master whose port is `server_args[0]`.
fn spawn_replica(s: &Store) -> Child {
    Command::new("redis-server")
        .args(["--port", &s.port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--notify-keyspace-events", "KA"])
        .args(["--replicaof", "127.0.0.1", &s.server_args[0]])
        .arg("--dir")
        .arg(s.dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server)")
}

/// A sentinel watching the master on port `server_args[0]` (quorum 1).
fn spawn_sentinel(s: &Store) -> Child {
    let conf = s.file(
        "sentinel.conf",
        &format!(
            "port {}\nbind 127.0.0.1\ndir {}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {} 1\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n",
            s.port,
            s.dir(),
            s.server_args[0]
        ),
    );
    Command::new("redis-sentinel")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-sentinel (Debian package redis-sentinel)")
}

/// Waits until `f` holds, with what it last saw in the panic message.
fn wait_for(what: &str, mut f: impl FnMut() -> (bool, String)) {
    let mut last = String::new();
    let ok = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        let (ok, seen) = f();
        last = seen;
        ok.then_some(())
    });
    assert!(ok.is_some(), "{what}; last: {last}");
}

fn master_port(sentinel: &Store) -> String {
    redis_cli(
        sentinel,
        &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
        "",
    )
}

#[test]
fn redis_through_sentinel_follows_a_failover() {
    let mut master = redis("KA");
    let replica = custom_store(spawn_replica, vec![master.port.to_string()]);
    wait_for("replica linked to the master", || {
        let info = redis_cli(&replica, &["INFO", "replication"], "");
        (info.contains("master_link_status:up"), info)
    });
    let sentinel = custom_store(spawn_sentinel, vec![master.port.to_string()]);
    for (k, v) in respond_pairs("app", "app.test", "v1") {
        redis_cli(&master, &["SET", &k, &v], "");
    }
    let p = proxy(&format!(
        "[providers.redis]\nendpoints = [\"{}\"]\n[providers.redis.sentinel]\nmasterName = \"{MASTER_NAME}\"\n",
        sentinel.endpoint()
    ));
    wait_body(&p, "app.test", "v1");

    // Promote the replica, then lose the old master: the store is now the replica.
    wait_for("sentinel failover started", || {
        let out = redis_cli(&sentinel, &["SENTINEL", "FAILOVER", MASTER_NAME], "");
        (out.trim() == "OK", out)
    });
    wait_for("sentinel names the replica", || {
        let out = master_port(&sentinel);
        (out.contains(&replica.port.to_string()), out)
    });
    master.stop();
    wait_for("the replica is a master", || {
        let info = redis_cli(&replica, &["INFO", "replication"], "");
        (info.contains("role:master"), info)
    });
    redis_cli(
        &replica,
        &["SET", "traefik/http/services/app/respond/body", "v2"],
        "",
    );
    wait_body(&p, "app.test", "v2");
    wait_provider_up(&p, "redis", true);
}

#[test]
fn redis_sentinel_with_an_unknown_master_name_is_unreachable() {
    let master = redis("KA");
    let sentinel = custom_store(spawn_sentinel, vec![master.port.to_string()]);
    let p = proxy(&format!(
        "[providers.redis]\nendpoints = [\"{}\"]\n[providers.redis.sentinel]\nmasterName = \"other\"\n",
        sentinel.endpoint()
    ));
    let line = "provider redis: store unreachable (sentinel 127.0.0.1";
    assert!(p.wait_log(line, CHANGE_LIMIT), "{}", p.log_text());
    assert!(
        p.log_text().contains("no master named \"other\""),
        "{}",
        p.log_text()
    );
    wait_provider_up(&p, "redis", false);
}
