//! Bucket math against golang.org/x/time/rate's reservations, and the shared
//! tables under several threads at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::go_duration::GoDuration;
use super::{Acquire, Bucket, InFlightTable, RateTable, Take};

const SEC: Duration = Duration::from_secs(1);

/// Units per token of a bucket, read back from a fresh bucket's first take.
fn token(b: &Bucket) -> u64 {
    match b.take(None, 1_000) {
        Take::Admit(next) => next - 1_000,
        Take::Refuse(_) => panic!("a fresh bucket admits"),
    }
}

#[test]
fn average_zero_is_no_limit() {
    assert!(Bucket::new(0, SEC, 1).is_none());
}

#[test]
fn burst_then_refill_at_the_rate() {
    // 10/s, burst 3: three at once, then one every 100 ms.
    let b = Bucket::new(10, SEC, 3).unwrap();
    let t = token(&b);
    let now = 1 << 40;
    let mut tat = None;
    for _ in 0..3 {
        match b.take(tat, now) {
            Take::Admit(n) => tat = Some(n),
            Take::Refuse(_) => panic!("within the burst"),
        }
    }
    let Take::Refuse(wait) = b.take(tat, now) else {
        panic!("the burst is spent");
    };
    assert_eq!(b.to_duration(wait), Duration::from_millis(100));
    assert!(matches!(b.take(tat, now + t), Take::Admit(_)));
}

/// Traefik's reservation: a token due within maxDelay (1/(2·rate): 50 ms at
/// 10/s) is admitted with that wait; one due later is refused.
#[test]
fn rate_limit_wait_within_max_delay_is_admitted_with_its_delay() {
    let b = Bucket::new(10, SEC, 1).unwrap();
    let t = token(&b);
    let table = RateTable::with_slots(8);
    let now = 1 << 40;
    assert_eq!(table.take(&b, 1 << 48, || now), Ok(0));
    // 75 ms later the next token is 25 ms away: held, not refused.
    let later = now + t * 3 / 4;
    let wait = table
        .take(&b, 1 << 48, || later)
        .expect("held, not refused");
    assert_eq!(b.to_duration(wait), Duration::from_millis(25));
    // The one after is 125 ms away: refused, and it took nothing.
    let Err(refused) = table.take(&b, 1 << 48, || later) else {
        panic!("past maxDelay")
    };
    assert_eq!(b.to_duration(refused), Duration::from_millis(125));
    // Exactly maxDelay away still passes (Traefik refuses only past it).
    let wait = table.take(&b, 1 << 48, || now + t * 3 / 2).unwrap();
    assert_eq!(b.to_duration(wait), Duration::from_millis(50));
}

#[test]
fn period_divides_the_average() {
    // 6 per minute: one token every 10 s.
    let b = Bucket::new(6, Duration::from_secs(60), 1).unwrap();
    let t = token(&b);
    assert_eq!(b.to_duration(t), Duration::from_secs(10));
    let Take::Admit(tat) = b.take(None, 5) else {
        panic!()
    };
    // Below 1 req/s the reservation may reach 500 ms ahead.
    let Take::Refuse(wait) = b.take(Some(tat), 5 + t / 2) else {
        panic!()
    };
    assert_eq!(b.to_duration(wait), Duration::from_secs(5));
    assert!(matches!(b.take(Some(tat), 5 + t - t / 25), Take::Admit(_)));
}

#[test]
fn a_bucket_idle_past_its_refill_is_full_again_even_across_the_wrap() {
    let b = Bucket::new(1, SEC, 2).unwrap();
    let wrap = 1u64 << 48;
    let tat = wrap - 10;
    // Long after: taken as full, not as a debt.
    assert!(matches!(b.take(Some(tat), 5), Take::Admit(_)));
    assert!(matches!(
        b.take(Some(tat), tat - 100_000_000),
        Take::Admit(_)
    ));
}

#[test]
fn go_duration_text() {
    let cases = [
        (Duration::ZERO, "0s"),
        (Duration::from_nanos(750), "750ns"),
        (Duration::from_nanos(1_500), "1.5µs"),
        (Duration::from_nanos(333_333_333), "333.333333ms"),
        (Duration::from_millis(2_500), "2.5s"),
        (Duration::from_secs(90), "1m30s"),
        (Duration::from_secs(7200), "2h0m0s"),
    ];
    for (d, text) in cases {
        assert_eq!(GoDuration(d).to_string(), text);
    }
}

/// Four threads hammer one source for 300 ms: the total admitted is the
/// burst plus the rate over the time, whoever takes the tokens.
#[test]
fn rate_table_holds_the_rate_across_threads() {
    let b = Bucket::new(200, SEC, 20).unwrap();
    let table = Arc::new(RateTable::default());
    let admitted = Arc::new(AtomicU64::new(0));
    let start = std::time::Instant::now();
    let window = Duration::from_millis(300);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (table, admitted) = (table.clone(), admitted.clone());
            std::thread::spawn(move || {
                while start.elapsed() < window {
                    if table.take(&b, 42, || b.now(table.epoch)).is_ok() {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let got = admitted.load(Ordering::Relaxed) as f64;
    let expected = 20.0 + 200.0 * start.elapsed().as_secs_f64();
    assert!(
        (got - expected).abs() <= expected * 0.1 + 2.0,
        "admitted {got}, expected about {expected}"
    );
}

#[test]
fn rate_table_sources_do_not_share_and_idle_ones_are_reused() {
    let b = Bucket::new(1, SEC, 1).unwrap();
    let table = RateTable::with_slots(8);
    let now = 1_000;
    // Eight sources fill the only set, each with its own bucket.
    for s in 0..8u64 {
        let hash = (s + 1) << 48;
        assert!(table.take(&b, hash, || now).is_ok(), "source {s}");
        assert!(table.take(&b, hash, || now).is_err(), "source {s} again");
    }
    // A ninth takes the place of the fullest; once refilled, any is free.
    assert!(table.take(&b, 9 << 48, || now).is_ok());
    let later = now + 2 * token(&b);
    assert!(table.take(&b, 10 << 48, || later).is_ok());
}

#[test]
fn in_flight_counts_up_to_the_amount_and_back() {
    let table = InFlightTable::default();
    let a = table.acquire(7 << 32, 2);
    let b = table.acquire(7 << 32, 2);
    assert!(matches!(a, Acquire::Counted(_)));
    assert_eq!(a, b, "one word per source");
    assert_eq!(table.acquire(7 << 32, 2), Acquire::Refused);
    assert!(matches!(table.acquire(8 << 32, 2), Acquire::Counted(_)));
    let Acquire::Counted(slot) = a else {
        unreachable!()
    };
    table.release(slot);
    assert_eq!(table.count(7 << 32), 1);
    assert!(matches!(table.acquire(7 << 32, 2), Acquire::Counted(_)));
    assert_eq!(
        table.acquire(1, 0),
        Acquire::Refused,
        "amount 0 refuses all"
    );
}

/// Threads acquire and release one source concurrently: the count never
/// passes the amount and is back to 0 at the end.
#[test]
fn in_flight_table_never_passes_the_amount_across_threads() {
    let table = Arc::new(InFlightTable::default());
    let peak = Arc::new(AtomicU64::new(0));
    let inside = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (table, peak, inside) = (table.clone(), peak.clone(), inside.clone());
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    if let Acquire::Counted(slot) = table.acquire(99 << 32, 3) {
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        table.release(slot);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(table.count(99 << 32), 0);
}

/// A held request whose client leaves gets Traefik's 500 at once (the hold
/// of a minute does not run out); one whose client stays goes on when due.
#[test]
fn a_hold_ends_with_500_when_the_client_leaves() {
    use super::rate::CLIENT_LEFT;
    use crate::middleware::{Edits, Flow};
    let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut edits = Edits::default();
        let left = || std::future::ready(());
        let flow = super::hold(60 * SEC, "lim", &mut edits, left).await;
        assert_eq!(flow, Flow::Answer);
        assert_eq!(edits.answered(), Some((500, CLIENT_LEFT)));
        let mut edits = Edits::default();
        let stays = std::future::pending::<()>;
        let flow = super::hold(Duration::from_millis(1), "lim", &mut edits, stays).await;
        assert_eq!(flow, Flow::Next);
        assert_eq!(edits.answered(), None);
    });
}
