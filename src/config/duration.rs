//! Durations in Traefik's forms: Go `time.ParseDuration` strings (`"1m30s"`,
//! `"250ms"`, `"1.5s"`, `"500us"`/`"µs"`, `"0"`) and bare integers meaning seconds,
//! written either as TOML integers or as numeric strings (`"10"`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

/// Go durations are `int64` nanoseconds; larger values are refused like Go does.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Unit suffixes and their length in nanoseconds. Longest first so that `ms`
/// is not read as `m` followed by garbage.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000), // U+00B5 MICRO SIGN, as Go accepts
    ("μs", 1_000), // U+03BC GREEK SMALL LETTER MU, as Go accepts
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// A duration read from the config; zero is kept as zero (callers decide whether
/// zero means "disabled").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigDuration(pub Duration);

/// Parses a duration string: all digits → seconds, otherwise Go syntax.
pub fn parse_duration(src: &str) -> Result<Duration, String> {
    let s = src.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = s
            .parse()
            .map_err(|_| format!("duration {src:?} is out of range"))?;
        return seconds(secs);
    }
    parse_go(s).map_err(|why| format!("invalid duration {src:?}: {why}"))
}

fn seconds(secs: u64) -> Result<Duration, String> {
    if u128::from(secs) * 1_000_000_000 > MAX_NANOS {
        return Err(format!("duration of {secs} seconds is out of range"));
    }
    Ok(Duration::from_secs(secs))
}

/// Go's grammar: `[+]? ( number unit )+` where number is `digits[.digits]`.
fn parse_go(s: &str) -> Result<Duration, String> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        return Err("negative durations are not allowed".into());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, after) = parse_term(rest)?;
        total = total.saturating_add(nanos);
        if total > MAX_NANOS {
            return Err("out of range".into());
        }
        rest = after;
    }
    let secs = (total / 1_000_000_000) as u64;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// One `number unit` pair; returns its nanoseconds and the remaining input.
fn parse_term(s: &str) -> Result<(u128, &str), String> {
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, after) = s.split_at(num_len);
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err("expected a number".into());
    }
    if frac.contains('.') {
        return Err("too many decimal points".into());
    }
    let (unit, after) = split_unit(after)?;
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "out of range".to_string())?
    };
    Ok((
        whole
            .saturating_mul(unit)
            .saturating_add(fraction_nanos(frac, unit)),
        after,
    ))
}

fn split_unit(s: &str) -> Result<(u128, &str), String> {
    if s.is_empty() {
        return Err("missing unit (use ns, us, ms, s, m or h)".into());
    }
    UNITS
        .iter()
        .find(|(name, _)| s.starts_with(name))
        .map(|(name, nanos)| (*nanos, &s[name.len()..]))
        .ok_or_else(|| {
            let unit: String = s.chars().take_while(|c| !c.is_ascii_digit()).collect();
            format!("unknown unit {unit:?} (use ns, us, ms, s, m or h)")
        })
}

/// Fractional digits scaled by the unit; digits beyond nanosecond precision are
/// dropped (18 digits is more than any unit needs and keeps the math in range).
fn fraction_nanos(frac: &str, unit: u128) -> u128 {
    let digits = &frac[..frac.len().min(18)];
    if digits.is_empty() {
        return 0;
    }
    let value: u128 = digits.parse().unwrap_or(0);
    value * unit / 10u128.pow(digits.len() as u32)
}

impl<'de> serde::Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor).map(ConfigDuration)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a duration such as \"10s\", \"250ms\", \"1m30s\" or an integer number of seconds",
        )
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        let secs = u64::try_from(v).map_err(|_| E::custom("negative durations are not allowed"))?;
        seconds(secs).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        seconds(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn go_forms() {
        assert_eq!(parse_duration("10s"), Ok(ms(10_000)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("1.s"), Ok(ms(1_000)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("500µs"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("500μs"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("1h2m3s4ms"), Ok(ms(3_723_004)));
        assert_eq!(parse_duration("+2s"), Ok(ms(2_000)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bare_seconds() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("42"), Ok(ms(42_000)));
        assert_eq!(parse_duration(" 42 "), Ok(ms(42_000)));
    }

    #[test]
    fn bad_forms() {
        for bad in [
            "",
            "s",
            "1.5",
            "10x",
            "-1s",
            "1..5s",
            "1s2",
            "ten",
            "1 s",
            "9999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        let err = parse_duration("10x").unwrap_err();
        assert!(err.contains("unknown unit \"x\""), "{err}");
        assert!(parse_duration("99999999999999999999").is_err());
    }

    #[derive(serde::Deserialize)]
    struct Holder {
        d: ConfigDuration,
    }

    fn from_toml(src: &str) -> Result<Duration, String> {
        toml::from_str::<Holder>(src)
            .map(|h| h.d.0)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn toml_values() {
        assert_eq!(from_toml("d = 5"), Ok(ms(5_000)));
        assert_eq!(from_toml("d = \"5\""), Ok(ms(5_000)));
        assert_eq!(from_toml("d = \"1m\""), Ok(ms(60_000)));
        assert!(from_toml("d = -5").unwrap_err().contains("negative"));
        assert!(
            from_toml("d = 1.5")
                .unwrap_err()
                .contains("a duration such as")
        );
        assert!(from_toml("d = true").is_err());
        assert!(from_toml("d = \"5 parsecs\"").is_err());
    }
}
