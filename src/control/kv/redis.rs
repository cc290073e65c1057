//! The Redis store: reading every pair under `rootKey`, and watching for
//! changes — keyspace notifications (`PSUBSCRIBE __keyspace@<db>__:<root>/*`)
//! when the server has them on (`notify-keyspace-events` with `K` and `A`, or
//! `K`, `$` and `g`), else a look every [`DEFAULT_KV_POLL_INTERVAL`].

use std::io;
use std::time::Instant;

use super::resp::{Conn, Reply, glob_escape};
use super::{Watch, connect_timeout};
use crate::config::{DEFAULT_KV_POLL_INTERVAL, KvProvider};

/// Keys per `SCAN` page and per `MGET`.
const BATCH: usize = 500;

/// Every pair under the root, by `SCAN` then `MGET` (keys of other types than
/// strings read as missing, and are left out).
pub fn read(p: &KvProvider) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut conn = Conn::connect(p, connect_timeout())?;
    let pattern = format!("{}/*", glob_escape(&p.root_key));
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut cursor = b"0".to_vec();
    loop {
        let reply = conn.call(&[
            b"SCAN",
            &cursor,
            b"MATCH",
            pattern.as_bytes(),
            b"COUNT",
            BATCH.to_string().as_bytes(),
        ])?;
        let mut page = reply.into_array()?.into_iter();
        let next = page.next().and_then(Reply::into_bytes);
        let found = page.next().map(Reply::into_array).transpose()?;
        keys.extend(
            found
                .unwrap_or_default()
                .into_iter()
                .filter_map(Reply::into_bytes),
        );
        match next {
            Some(n) if n != b"0" => cursor = n,
            _ => break,
        }
    }
    // SCAN may return a key twice (during a rehash).
    keys.sort();
    keys.dedup();
    let mut pairs = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH) {
        let mut args: Vec<&[u8]> = vec![b"MGET"];
        args.extend(chunk.iter().map(Vec::as_slice));
        let values = conn.call(&args)?.into_array()?;
        for (k, v) in chunk.iter().zip(values) {
            if let Some(v) = v.into_bytes() {
                pairs.push((String::from_utf8_lossy(k).into_owned(), v));
            }
        }
    }
    Ok(pairs)
}

/// Whether the server publishes keyspace events for writes and deletes.
fn notifications_on(conn: &mut Conn) -> bool {
    let Ok(reply) = conn.call(&[b"CONFIG", b"GET", b"notify-keyspace-events"]) else {
        // CONFIG renamed or forbidden (managed Redis): polling still works.
        return false;
    };
    let flags = reply
        .into_array()
        .ok()
        .and_then(|a| a.into_iter().nth(1))
        .and_then(Reply::into_bytes)
        .unwrap_or_default();
    let has = |c: u8| flags.contains(&c);
    has(b'K') && (has(b'A') || (has(b'$') && has(b'g')))
}

/// Watches until `w.stopped()`: one session per connection, reconnecting with
/// backoff when it breaks.
pub fn watch(p: &KvProvider, w: &Watch) {
    let mut backoff = w.backoff();
    while !w.stopped() {
        let started = Instant::now();
        match session(p, w) {
            Ok(Ended::Stopped) => return,
            // Another master: connect to it now, the store is not down.
            Ok(Ended::Moved) => backoff = w.backoff(),
            Err(e) => {
                w.down(&e.to_string());
                if started.elapsed() > super::BACKOFF_MAX {
                    // It had been working: retry soon, as after a first failure.
                    backoff = w.backoff();
                }
                w.sleep(backoff.next());
            }
        }
    }
}

/// Why a session ended without an error.
enum Ended {
    Stopped,
    Moved,
}

/// With Sentinel: whether the sentinels now name another master than the one
/// `conn` is on (a failover that left the old master running, as a replica).
/// A sentinel that does not answer changes nothing.
fn moved(p: &KvProvider, conn: &Conn) -> bool {
    let Some(s) = &p.sentinel else {
        return false;
    };
    match super::sentinel::master(p, s, connect_timeout()) {
        Ok(m) if m != conn.endpoint() => {
            log::info!("redis: master moved from {} to {m}", conn.endpoint());
            true
        }
        _ => false,
    }
}

fn session(p: &KvProvider, w: &Watch) -> io::Result<Ended> {
    let mut conn = Conn::connect(p, connect_timeout())?;
    if !notifications_on(&mut conn) {
        log::info!(
            "redis: keyspace notifications are off; reading {}/ every {:?}",
            p.root_key,
            DEFAULT_KV_POLL_INTERVAL
        );
        return poll(p, w, conn);
    }
    let channel = format!("__keyspace@{}__:{}/*", p.db, glob_escape(&p.root_key));
    conn.call(&[b"PSUBSCRIBE", channel.as_bytes()])?;
    // Connected and subscribed: anything written while we were away is read now.
    w.up();
    w.changed();
    conn.set_read_timeout(Some(super::STOP_CHECK))?;
    let mut next_check = Instant::now() + DEFAULT_KV_POLL_INTERVAL;
    while !w.stopped() {
        match conn.read_reply() {
            Ok(_) => w.changed(),
            Err(e) if timed_out(&e) => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= next_check {
            if moved(p, &conn) {
                return Ok(Ended::Moved);
            }
            w.read_again_if_it_failed();
            next_check = Instant::now() + DEFAULT_KV_POLL_INTERVAL;
        }
    }
    Ok(Ended::Stopped)
}

/// No notifications: ask for a look every interval (the reload compares what
/// it read with the last read, so an unchanged store publishes nothing), and
/// `PING` to notice a lost store between looks.
fn poll(p: &KvProvider, w: &Watch, mut conn: Conn) -> io::Result<Ended> {
    w.up();
    w.changed();
    let mut next = Instant::now() + DEFAULT_KV_POLL_INTERVAL;
    while !w.stopped() {
        w.sleep(next.saturating_duration_since(Instant::now()));
        if w.stopped() {
            break;
        }
        conn.call(&[b"PING"])
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", conn.endpoint())))?;
        if moved(p, &conn) {
            return Ok(Ended::Moved);
        }
        w.changed();
        next = Instant::now() + DEFAULT_KV_POLL_INTERVAL;
    }
    Ok(Ended::Stopped)
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
