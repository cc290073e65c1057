//! rateLimit with `redis` and several endpoints: a Redis Cluster, as
//! Traefik's go-redis cluster client, against three real `redis-server`
//! masters (`cluster-enabled yes`, joined by `redis-cli --cluster create`).
//! Two of them are given as seeds; the third is found in the slot map. Each
//! source's bucket lives on the master of its key's slot, the limit holds
//! per source on every master, and it holds across a slot migration: `-ASK`
//! while the slot moves (`ASKING` on the target), `-MOVED` once it has moved;
//! a restarted master is used again without action on the proxy; a master
//! that stops answering costs only its own slots' requests.

use std::time::Duration;

use crate::common::client::{Response, request};
use crate::common::config::router;
use crate::common::*;
use crate::kv_store::{Store, redis_cli, redis_unstarted};

/// The slot ranges `redis-cli --cluster create` gives three masters, in the
/// order they are named.
const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

fn cluster_node() -> Store {
    let mut s = redis_unstarted("");
    // The bus port beside the client port (Redis' default, port + 10000,
    // may be past 65535 for an ephemeral port).
    let bus = crate::kv_store::free_port().to_string();
    s.server_args = ["--cluster-enabled", "yes", "--cluster-port", &bus]
        .map(String::from)
        .to_vec();
    s.server_args
        .extend(["--cluster-config-file".into(), "nodes.conf".into()]);
    s.started()
}

fn cli(s: &Store, args: &[&str]) -> String {
    redis_cli(s, args, "").trim().to_string()
}

/// Three masters with every slot assigned, once every node says so.
fn cluster() -> [Store; 3] {
    let nodes = [cluster_node(), cluster_node(), cluster_node()];
    let addrs: Vec<String> = nodes.iter().map(Store::endpoint).collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.push("--cluster-yes");
    redis_cli(&nodes[0], &args, "");
    for n in &nodes {
        let ok = poll_until(Duration::from_secs(20), Duration::from_millis(50), || {
            cli(n, &["CLUSTER", "INFO"])
                .contains("cluster_state:ok")
                .then_some(())
        });
        assert!(ok.is_some(), "cluster not ok on {}", n.endpoint());
    }
    nodes
}

/// A hash tag whose slot each master owns: `(tag, slot)` per master.
fn tags(node: &Store) -> Vec<(String, u16)> {
    let mut found: Vec<Option<(String, u16)>> = vec![None; 3];
    for i in 0..200 {
        let tag = format!("t{i}");
        let slot: u16 = cli(node, &["CLUSTER", "KEYSLOT", &tag]).parse().unwrap();
        let owner = RANGES.iter().position(|(a, b)| (*a..=*b).contains(&slot));
        if let Some(o) = owner {
            found[o].get_or_insert((tag, slot));
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

fn key(id: &str) -> String {
    format!("rate:lim@file:{id}")
}

fn has(node: &Store, id: &str) -> bool {
    cli(node, &["EXISTS", &key(id)]) == "1"
}

/// [`has`] on a node importing the key's slot (which answers only after
/// `ASKING` on the same connection).
fn has_importing(node: &Store, id: &str) -> bool {
    let out = redis_cli(node, &[], &format!("ASKING\nEXISTS {}\n", key(id)));
    out.lines().last() == Some("1")
}

fn app(p: &Proxy, id: &str) -> Response {
    request(
        p.addr(),
        &format!("GET / HTTP/1.1\r\nHost: app.test\r\nX-Id: {id}\r\n\r\n"),
    )
}

/// `id` gets one request a minute: the first passes, the next is refused.
fn first_passes_then_limited(p: &Proxy, id: &str) {
    let first = app(p, id);
    assert_eq!(first.status, 200, "{id}: {}", p.log_text());
    assert_eq!(app(p, id).status, 429, "{id}: the bucket holds");
}

fn proxy(seeds: &[&Store]) -> Proxy {
    proxy_with(seeds, "")
}

/// [`proxy`] with more keys of the `redis` table.
fn proxy_with(seeds: &[&Store], more: &str) -> Proxy {
    let endpoints: Vec<String> = seeds
        .iter()
        .map(|s| format!("\"{}\"", s.endpoint()))
        .collect();
    let text = format!(
        "{}middlewares = [\"lim\"]\n[http.services.s.respond]\nbody = \"ok\"\n\
         [http.middlewares.lim.rateLimit]\naverage = 1\nperiod = \"1m\"\n\
         [http.middlewares.lim.rateLimit.sourceCriterion]\nrequestHeaderName = \"X-Id\"\n\
         [http.middlewares.lim.rateLimit.redis]\nendpoints = [{}]\n{more}",
        router("r", "Host(`app.test`)", "s"),
        endpoints.join(", "),
    );
    Proxy::start(&ProxyConfig::new(&text))
}

#[test]
fn redis_cluster_rate_limit_routes_each_bucket_to_its_master() {
    let nodes = cluster();
    let p = proxy(&[&nodes[0], &nodes[1]]);
    for (master, (tag, _)) in tags(&nodes[0]).iter().enumerate() {
        let id = format!("{{{tag}}}a");
        first_passes_then_limited(&p, &id);
        for (n, node) in nodes.iter().enumerate() {
            assert_eq!(has(node, &id), n == master, "{id} on node {n}");
        }
    }
}

/// A slot moves from the first master to the second: during the move a new
/// source's bucket is made on the target (`-ASK`) and a moved one keeps its
/// limit; after it, the old master's `-MOVED` sends the proxy to the new one.
#[test]
fn redis_cluster_rate_limit_holds_across_a_slot_migration() {
    let nodes = cluster();
    let p = proxy(&[&nodes[0], &nodes[1]]);
    let (tag, slot) = tags(&nodes[0]).swap_remove(0);
    let (moved, fresh, late) = (
        format!("{{{tag}}}moved"),
        format!("{{{tag}}}fresh"),
        format!("{{{tag}}}late"),
    );
    first_passes_then_limited(&p, &moved);
    assert!(has(&nodes[0], &moved));

    let (from, to) = (&nodes[0], &nodes[1]);
    let (from_id, to_id) = (
        cli(from, &["CLUSTER", "MYID"]),
        cli(to, &["CLUSTER", "MYID"]),
    );
    let slot = slot.to_string();
    cli(to, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]);
    cli(from, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]);
    let port = to.port.to_string();
    let migrated = cli(
        from,
        &["MIGRATE", "127.0.0.1", &port, &key(&moved), "0", "5000"],
    );
    assert_eq!(migrated, "OK");
    // Migrating: keys not on the old master are asked of the new one.
    assert_eq!(app(&p, &moved).status, 429, "the moved bucket holds (ASK)");
    first_passes_then_limited(&p, &fresh);
    assert!(has_importing(to, &fresh), "made on the target");
    assert!(!has(from, &fresh), "not on the source");

    for n in &nodes {
        cli(n, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]);
    }
    // Moved: the proxy's map still names the old master, which redirects.
    assert_eq!(
        app(&p, &moved).status,
        429,
        "the moved bucket holds (MOVED)"
    );
    first_passes_then_limited(&p, &late);
    assert!(has(to, &late) && !has(from, &late));
}

/// A master found only in the slot map (not a seed) stops: requests for its
/// slots get Traefik's 500; once it is back on its port they are limited
/// again, with no action on the proxy.
#[test]
fn redis_cluster_rate_limit_recovers_when_a_master_restarts() {
    let mut nodes = cluster();
    let p = proxy(&[&nodes[0], &nodes[1]]);
    let (tag, _) = tags(&nodes[0]).swap_remove(2);
    let id = format!("{{{tag}}}r");
    first_passes_then_limited(&p, &id);
    nodes[2].stop();
    assert_eq!(app(&p, &id).status, 500, "{}", p.log_text());
    nodes[2].restart();
    // The bucket may or may not have reached the disk: either answer is a
    // limit applied; a 500 is not.
    let back = poll_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let status = app(&p, &id).status;
        (status != 500).then_some(status)
    });
    assert!(
        matches!(back, Some(200 | 429)),
        "{back:?}: {}",
        p.log_text()
    );
}

/// The first master in the slot map stops answering (SIGSTOP: connections
/// are accepted, nothing is read): its slots' requests get the 500 after
/// `readTimeout`, and the other masters' requests are answered at once — the
/// map is read again behind the requests, the silent node asked last, not in
/// front of every request through it.
#[test]
fn redis_cluster_one_silent_master_does_not_stall_the_other_slots() {
    use std::time::Instant;
    let nodes = cluster();
    let p = proxy_with(&[&nodes[0], &nodes[1]], "readTimeout = \"1s\"\n");
    let tags = tags(&nodes[0]);
    let ids: Vec<String> = tags.iter().map(|(t, _)| format!("{{{t}}}s")).collect();
    for id in &ids {
        first_passes_then_limited(&p, id);
    }
    nodes[0].freeze(true);
    let t0 = Instant::now();
    assert_eq!(app(&p, &ids[0]).status, 500, "{}", p.log_text());
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    for round in 0..3 {
        for id in &ids[1..] {
            let t0 = Instant::now();
            assert_eq!(app(&p, id).status, 429, "{id}: {}", p.log_text());
            let took = t0.elapsed();
            assert!(
                took < Duration::from_millis(500),
                "round {round} {id}: {took:?}"
            );
        }
    }
    nodes[0].freeze(false);
}
