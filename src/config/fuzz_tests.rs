//! Stable fuzz target for durations (`duration::parse_duration`): Go-style
//! strings built from terms whose value is computed independently here, bare
//! second counts, and mutated text. Properties: a built duration parses to
//! exactly its value (or is refused only when out of Go's int64 range), any
//! text gives the same answer twice and never panics, and surrounding
//! whitespace does not change the answer.

use std::time::Duration;

use proptest::prelude::*;

use super::duration::parse_duration;
use crate::fuzz_tests::{config, mutated};

const MAX_NANOS: u128 = i64::MAX as u128;

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// One `number unit` term: whole part, fraction digits, unit index.
fn term() -> impl Strategy<Value = (Option<u64>, Option<String>, usize)> {
    (
        prop::option::of(prop_oneof![0u64..1000, any::<u64>()]),
        prop::option::of("[0-9]{0,12}"),
        0..UNITS.len(),
    )
        .prop_filter("a term needs digits", |(w, f, _)| {
            w.is_some() || f.as_deref().is_some_and(|f| !f.is_empty())
        })
}

/// The text and the expected nanoseconds (`None` if out of range).
fn go_duration() -> impl Strategy<Value = (String, Option<u128>)> {
    (any::<bool>(), prop::collection::vec(term(), 1..5)).prop_map(|(plus, terms)| {
        let mut text = if plus { "+".to_string() } else { String::new() };
        let mut total: Option<u128> = Some(0);
        for (whole, frac, unit) in terms {
            let (name, nanos) = UNITS[unit];
            if let Some(w) = whole {
                text.push_str(&w.to_string());
            }
            if let Some(f) = &frac {
                text.push('.');
                text.push_str(f);
            }
            text.push_str(name);
            let frac_nanos = frac.filter(|f| !f.is_empty()).map_or(0, |f| {
                f.parse::<u128>().unwrap() * nanos / 10u128.pow(f.len() as u32)
            });
            let value = u128::from(whole.unwrap_or(0)) * nanos + frac_nanos;
            total = total.map(|t| t + value).filter(|t| *t <= MAX_NANOS);
        }
        (text, total)
    })
}

const SEEDS: &[&str] = &[
    "10s",
    "1m30s",
    "1.5h",
    "250ms",
    "500us",
    "500µs",
    "3μs",
    "0",
    "10",
    "+5m",
    "-1s",
    ".5s",
    "1.s",
    "9223372036s",
    "9223372037s",
    "2562047h47m16.854775807s",
    "1d",
    "5 s",
    " 7s ",
    "1e3s",
];

fn nanos(d: Duration) -> u128 {
    d.as_nanos()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_duration_built_parses_to_its_value((text, want) in go_duration()) {
        let got = parse_duration(&text).map(nanos);
        match want {
            Some(n) => prop_assert_eq!(got, Ok(n), "{}", text),
            None => prop_assert!(got.is_err(), "{} should be out of range, got {:?}", text, got),
        }
    }

    #[test]
    fn fuzz_duration_seconds(secs: u64) {
        let got = parse_duration(&secs.to_string()).map(nanos);
        if u128::from(secs) * 1_000_000_000 <= MAX_NANOS {
            prop_assert_eq!(got, Ok(u128::from(secs) * 1_000_000_000));
        } else {
            prop_assert!(got.is_err());
        }
    }

    #[test]
    fn fuzz_duration_text(
        bytes in mutated(SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect()),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        let first = parse_duration(&text);
        prop_assert_eq!(&first, &parse_duration(&text));
        prop_assert_eq!(&first.is_ok(), &parse_duration(&format!(" {text}\t")).is_ok());
        if let Ok(d) = first {
            prop_assert!(nanos(d) <= MAX_NANOS);
        }
    }
}

/// Found by the long fuzz run (docs/fuzzing.md): a whole part whose
/// nanoseconds saturate u128, plus a fraction, overflows the addition in
/// `parse_term` (a panic with overflow checks, a wrapped, tiny duration
/// without them). It must be refused as out of range (the sum now saturates).
#[test]
fn fuzz_found_duration_huge_whole_with_fraction_is_refused() {
    let got = parse_duration("3372039223372039223372039223372.393223372036s");
    assert!(got.is_err(), "accepted as {got:?}");
}
