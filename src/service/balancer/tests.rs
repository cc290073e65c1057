use super::*;
use crate::config::{Health, LoadBalancer, Server, ServersTransport};

fn lb(strategy: Strategy, weights: &[u32]) -> LoadBalancer {
    let servers = weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| Server {
            url: format!("http://10.0.0.{i}:80"),
            addr: format!("10.0.0.{i}:80").parse().unwrap(),
            authority: format!("10.0.0.{i}:80"),
            path_prefix: String::new(),
            weight,
            health: Health::new(),
            tls: None,
            h2c: false,
        })
        .collect();
    LoadBalancer {
        servers,
        pass_host_header: true,
        transport: ServersTransport::default(),
        health_check: None,
        strategy,
        sticky: None,
        passive: None,
    }
}

#[test]
fn p2c_prefers_the_server_with_fewer_requests_in_flight() {
    let lb = lb(Strategy::P2c, &[1, 1]);
    let b = Balancer::new(&lb);
    let client = "192.0.2.1";
    let held = b.pick(&lb, client, |_| true).unwrap();
    // With two servers both are drawn: the idle one wins every time.
    for _ in 0..50 {
        let p = b.pick(&lb, client, |_| true).unwrap();
        assert_ne!(p.index, held.index);
    }
    drop(held);
    let mut seen = [0; 2];
    for _ in 0..200 {
        seen[b.pick(&lb, client, |_| true).unwrap().index] += 1;
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

#[test]
fn p2c_never_picks_a_server_that_is_down() {
    let lb = lb(Strategy::P2c, &[1, 1, 1]);
    let b = Balancer::new(&lb);
    for _ in 0..300 {
        let p = b.pick(&lb, "192.0.2.1", |i| i != 1).unwrap();
        assert_ne!(p.index, 1);
    }
    assert!(b.pick(&lb, "192.0.2.1", |_| false).is_none());
}

#[test]
fn hrw_keeps_a_client_on_its_server_and_spreads_clients_by_weight() {
    let lb = lb(Strategy::Hrw, &[1, 1, 2]);
    let b = Balancer::new(&lb);
    let mut counts = [0usize; 3];
    for n in 0..3000u32 {
        // Scattered addresses, as real clients' are.
        let client = std::net::Ipv4Addr::from(n.wrapping_mul(2_654_435_761)).to_string();
        let first = b.pick(&lb, &client, |_| true).unwrap().index;
        let again = b.pick(&lb, &client, |_| true).unwrap().index;
        assert_eq!(first, again, "{client}");
        counts[first] += 1;
    }
    // Expected 750 / 750 / 1500; FNV over similar strings is not a perfect
    // hash, so only the shape is checked.
    assert!(counts[0] > 450 && counts[1] > 450, "{counts:?}");
    assert!(counts[2] > counts[0] && counts[2] > counts[1], "{counts:?}");
}

#[test]
fn hrw_moves_only_the_clients_of_a_server_that_goes_down() {
    let lb = lb(Strategy::Hrw, &[1, 1, 1]);
    let b = Balancer::new(&lb);
    for n in 0..500u32 {
        let client = std::net::Ipv4Addr::from(0xc000_0200 + n).to_string();
        let before = b.pick(&lb, &client, |_| true).unwrap().index;
        let after = b.pick(&lb, &client, |i| i != 0).unwrap().index;
        if before != 0 {
            assert_eq!(before, after, "{client} moved though its server stayed up");
        } else {
            assert_ne!(after, 0);
        }
    }
}

#[test]
fn hrw_score_is_traefiks_fnv1a_of_client_then_server_name() {
    // FNV-1a 64 of "" is the offset basis; of "a" a known constant.
    let fraction = |h: u64| h as f64 / 2f64.powi(64);
    let expected = 1.0 / -fraction(0xaf63_dc4c_8601_ec8c).ln();
    assert!((score("a", "", 1) - expected).abs() < 1e-12);
    assert!((score("a", "", 3) - 3.0 * expected).abs() < 1e-9);
}

#[test]
fn strategy_names_parse() {
    assert_eq!(Strategy::parse("wrr"), Ok(Strategy::Wrr));
    assert_eq!(Strategy::parse("p2c"), Ok(Strategy::P2c));
    assert_eq!(Strategy::parse("hrw"), Ok(Strategy::Hrw));
    assert_eq!(Strategy::parse("leasttime"), Ok(Strategy::LeastTime));
    assert!(
        Strategy::parse("random")
            .unwrap_err()
            .contains("unknown strategy")
    );
}

/// A leasttime pick that answered after `ms` milliseconds.
fn answer_after(b: &Balancer, lb: &LoadBalancer, ms: u64) -> usize {
    let p = b.pick(lb, "", |_| true).unwrap();
    let Picked { timed, .. } = &p;
    let (lt, _) = timed.unwrap();
    lt.answered(
        p.index,
        Instant::now() - std::time::Duration::from_millis(ms),
    );
    p.index
}

#[test]
fn leasttime_takes_turns_by_weight_while_tied() {
    // Before any answer every score is 0: earliest deadline first, so
    // weights 1 and 3 share 1:3 (off by one at most: the servers start one
    // turn apart).
    let lb = lb(Strategy::LeastTime, &[1, 3, 0]);
    let b = Balancer::new(&lb);
    let mut counts = [0usize; 3];
    for _ in 0..400 {
        counts[b.pick(&lb, "", |_| true).unwrap().index] += 1;
    }
    assert!(counts[0].abs_diff(100) <= 1 && counts[2] == 0, "{counts:?}");
    assert_eq!(counts[0] + counts[1], 400);
}

#[test]
fn leasttime_prefers_the_faster_server_and_weighs_requests_in_flight() {
    let lb = lb(Strategy::LeastTime, &[1, 1]);
    let b = Balancer::new(&lb);
    // Server 0 first (earliest deadline), then 1: each answers once.
    assert_eq!(answer_after(&b, &lb, 40), 0);
    assert_eq!(answer_after(&b, &lb, 10), 1);
    // 40 ms against 10 ms: the faster one, while it has fewer than 3 in flight.
    let held: Vec<_> = (0..3).map(|_| b.pick(&lb, "", |_| true).unwrap()).collect();
    assert!(held.iter().all(|p| p.index == 1));
    // 10 × (1 + 3) = 40 ties with 40 × 1: turns decide, server 0's comes first.
    assert_eq!(b.pick(&lb, "", |_| true).unwrap().index, 0);
    drop(held);
    assert_eq!(b.pick(&lb, "", |_| true).unwrap().index, 1);
    // Down servers are never picked.
    assert_eq!(b.pick(&lb, "", |i| i == 0).unwrap().index, 0);
}
