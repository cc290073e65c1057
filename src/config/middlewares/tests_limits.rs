//! rateLimit and inFlightReq configuration: defaults, refusals naming their
//! keys, `redis` with its defaults, and the tables carried over a reload.

use std::sync::Arc;

use crate::config::tests_dynamic::*;
use crate::config::{Snapshot, carry_limits, load_snapshot};
use crate::middleware::Middleware;

fn snapshot(text: &str) -> Snapshot {
    let s = setup(&[("l.toml", text)]);
    load_snapshot(&s.st, 1).unwrap_or_else(|e| panic!("{e}"))
}

fn kind<'a>(s: &'a Snapshot, name: &str) -> &'a Middleware {
    let def = s.middlewares.iter().find(|d| d.name == name).unwrap();
    &def.kind
}

#[test]
fn defaults_are_traefiks() {
    let s = snapshot(
        "[http.middlewares.rl.rateLimit]\n[http.middlewares.rl2.rateLimit]\naverage = 5\n\
         [http.middlewares.f.inFlightReq]\namount = 3\n",
    );
    let Middleware::RateLimit(rl) = kind(&s, "rl@file") else {
        panic!()
    };
    assert!(rl.bucket.is_none(), "average 0 is no limit");
    let Middleware::RateLimit(rl2) = kind(&s, "rl2@file") else {
        panic!()
    };
    assert!(rl2.bucket.is_some());
    assert!(matches!(
        rl2.source,
        crate::middleware::limits::Source::Ip(_)
    ));
    let Middleware::InFlightReq(f) = kind(&s, "f@file") else {
        panic!()
    };
    assert_eq!(f.amount, 3);
    assert!(matches!(f.source, crate::middleware::limits::Source::Host));
    assert_eq!(f.body, "max connections reached: 3");
}

#[test]
fn bad_values_name_their_keys() {
    let text = r#"
[http.middlewares.neg.rateLimit]
average = -1
[http.middlewares.both.inFlightReq.sourceCriterion]
requestHost = true
requestHeaderName = "X-Id"
[http.middlewares.depth.rateLimit.sourceCriterion.ipStrategy]
excludedIPs = ["nope"]
"#;
    let (_, errors) = errs(&[("l.toml", text)]);
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    assert!(
        got.iter()
            .any(|(k, r)| *k == "http.middlewares.neg.rateLimit.average" && r.contains("negative")),
        "{got:#?}"
    );
    assert!(
        got.iter().any(
            |(k, r)| *k == "http.middlewares.both.inFlightReq.sourceCriterion"
                && r.contains("mutually exclusive")
        ),
        "{got:#?}"
    );
    assert!(
        got.iter().any(|(k, _)| *k
            == "http.middlewares.depth.rateLimit.sourceCriterion.ipStrategy.excludedIPs[0]"),
        "{got:#?}"
    );
    // A parse error, reported alone.
    let period = "[http.middlewares.period.rateLimit]\nperiod = \"-1s\"\n";
    let (_, errors) = errs(&[("l.toml", period)]);
    assert!(
        errors[0]
            .key
            .starts_with("http.middlewares.period.rateLimit.period"),
        "{errors:?}"
    );

    for (line, key, why) in [
        (
            "endpoints = [\"a:1\", \"b:2\"]\ntls.insecureSkipVerify = true",
            "redis.tls",
            "Redis Cluster (several endpoints) is not supported yet",
        ),
        ("db = -1", "redis.db", "negative"),
        ("maxActiveConns = -2", "redis.maxActiveConns", "negative"),
        (
            "tls.ca = \"/nonexistent/ca.pem\"",
            "redis.tls.ca",
            "cannot read",
        ),
        ("tls.cert = \"c.pem\"", "redis.tls.cert", "together"),
    ] {
        let text = format!("[http.middlewares.r.rateLimit.redis]\n{line}\n");
        let (_, errors) = errs(&[("l.toml", &text)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, format!("http.middlewares.r.rateLimit.{key}"));
        assert!(errors[0].reason.contains(why), "{errors:?}");
    }
}

/// Traefik's defaults for `redis`, and its table left out of the shared
/// in-process buckets.
#[test]
fn redis_takes_traefiks_defaults() {
    let s = snapshot(
        "[http.middlewares.rl.rateLimit]\naverage = 4\n[http.middlewares.rl.rateLimit.redis]\n\
         [http.middlewares.off.rateLimit.redis]\nendpoints = [\"127.0.0.1:7000\"]\nreadTimeout = \"0s\"\n\
         [http.middlewares.cl.rateLimit]\naverage = 4\n[http.middlewares.cl.rateLimit.redis]\n\
         endpoints = [\"127.0.0.1:7000\", \"127.0.0.1:7001\"]\ndb = 3\n",
    );
    // Several endpoints: a cluster's seeds, as go-redis' UniversalClient.
    let Middleware::RateLimit(cl) = kind(&s, "cl@file") else {
        panic!("not a rateLimit")
    };
    let seeds = &cl.redis.as_ref().expect("redis settings").settings.seeds;
    let addrs: Vec<_> = seeds.iter().map(|(e, a)| (e.as_str(), a.clone())).collect();
    assert_eq!(
        addrs,
        [
            ("127.0.0.1:7000", Ok("127.0.0.1:7000".parse().unwrap())),
            ("127.0.0.1:7001", Ok("127.0.0.1:7001".parse().unwrap()))
        ]
    );
    let Middleware::RateLimit(rl) = kind(&s, "rl@file") else {
        panic!("not a rateLimit")
    };
    let r = rl.redis.as_ref().expect("redis settings");
    let st = &r.settings;
    assert_eq!(st.endpoint, "localhost:6379");
    assert_eq!((st.pool_size, st.max_active, st.db), (10, 0, 0));
    let secs = std::time::Duration::from_secs;
    assert_eq!(
        (st.read_timeout, st.write_timeout),
        (Some(secs(3)), Some(secs(3)))
    );
    assert_eq!(st.dial_timeout, secs(5));
    assert_eq!((r.burst, r.ttl), (1, 2));
    // Average 0: no limit, the store is never asked.
    let Middleware::RateLimit(off) = kind(&s, "off@file") else {
        panic!("not a rateLimit")
    };
    assert!(off.redis.is_none() && off.uses_redis);
}

#[test]
fn a_reload_carries_the_tables_of_unchanged_definitions_only() {
    let text = "[http.middlewares.rl.rateLimit]\naverage = 5\n\
                [http.middlewares.f.inFlightReq]\namount = 3\n";
    let prev = snapshot(text);
    let mut same = snapshot(text);
    carry_limits(&mut same, &prev);
    let (Middleware::RateLimit(a), Middleware::RateLimit(b)) =
        (kind(&prev, "rl@file"), kind(&same, "rl@file"))
    else {
        panic!()
    };
    assert!(Arc::ptr_eq(&a.table, &b.table), "rateLimit kept");
    let (Middleware::InFlightReq(a), Middleware::InFlightReq(b)) =
        (kind(&prev, "f@file"), kind(&same, "f@file"))
    else {
        panic!()
    };
    assert!(Arc::ptr_eq(&a.table, &b.table), "inFlightReq kept");

    let changed = "[http.middlewares.rl.rateLimit]\naverage = 6\n\
                   [http.middlewares.f.inFlightReq]\namount = 3\n";
    let mut next = snapshot(changed);
    carry_limits(&mut next, &prev);
    let (Middleware::RateLimit(a), Middleware::RateLimit(b)) =
        (kind(&prev, "rl@file"), kind(&next, "rl@file"))
    else {
        panic!()
    };
    assert!(
        !Arc::ptr_eq(&a.table, &b.table),
        "a changed definition starts afresh"
    );
}
