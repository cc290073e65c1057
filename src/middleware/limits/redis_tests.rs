//! rateLimit.redis without a store: Traefik's derived parameters, the
//! script's reply, and the key layout.

use std::time::Duration;

use super::*;
use crate::net::redis_client::Settings;

fn settings() -> Settings {
    Settings {
        endpoint: "127.0.0.1:1".into(),
        addr: Ok(([127, 0, 0, 1], 1).into()),
        tls: None,
        username: String::new(),
        password: String::new(),
        db: 0,
        pool_size: 1,
        max_active: 0,
        dial_timeout: Duration::from_secs(1),
        read_timeout: None,
        write_timeout: None,
        min_idle: 0,
        seeds: Vec::new(),
    }
}

#[test]
fn parameters_are_traefiks() {
    // 100 per second: 1e-4 tokens/µs, maxDelay 1/(2·100) s, ttl 2 s.
    let r = RedisRate::new(settings(), 100, Duration::from_secs(1), 0).unwrap();
    assert_eq!(
        (r.per_us, r.burst, r.ttl, r.max_delay_us),
        (1e-4, 1, 2, 5_000)
    );
    assert_eq!(
        format!("{}", r.per_us),
        "0.0001",
        "sent without an exponent"
    );
    // 1 per minute: maxDelay 500 ms, ttl 1 + 60 s.
    let r = RedisRate::new(settings(), 1, Duration::from_secs(60), 5).unwrap();
    assert_eq!((r.burst, r.ttl, r.max_delay_us), (5, 61, 500_000));
    // Average 0: no limit, no store call.
    assert!(RedisRate::new(settings(), 0, Duration::from_secs(1), 1).is_none());
    // The script's SHA-1 is the one Redis computes (`SCRIPT LOAD`).
    assert_eq!(r.sha.len(), 40);
    assert_eq!(r.sha, sha1_hex(SCRIPT));
}

#[test]
fn script_reply_gives_the_wait() {
    let bulk = |s: &str| Reply::Bulk(Some(s.as_bytes().to_vec()));
    let reply = |w: &str| Reply::Array(Some(vec![bulk("true"), bulk(w), bulk("0")]));
    assert_eq!(wait_of(reply("0")).unwrap(), 0.0);
    assert_eq!(wait_of(reply("333.33333333333")).unwrap(), 333.33333333333);
    assert_eq!(wait_of(reply("1e-05")).unwrap(), 1e-5);
    assert!(wait_of(reply("nan")).is_err());
    assert!(wait_of(reply("x")).is_err());
    assert!(wait_of(Reply::Error(b"ERR boom".to_vec())).is_err());
    assert!(wait_of(Reply::Integer(1)).is_err());
}
