//! Go's `time.Duration.String()`, which Traefik writes in `X-Retry-In`:
//! `0s`, `750ns`, `1.5µs`, `333.333333ms`, `2.5s`, `1m30s`, `2h0m0s`.

use std::fmt;
use std::time::Duration;

pub struct GoDuration(pub Duration);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns < 1_000 {
            return write!(f, "{ns}ns");
        }
        if ns < 1_000_000 {
            frac(f, ns, 3)?;
            return f.write_str("µs");
        }
        if ns < 1_000_000_000 {
            frac(f, ns, 6)?;
            return f.write_str("ms");
        }
        let secs = ns / 1_000_000_000;
        let (h, m) = (secs / 3600, secs / 60 % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if secs >= 60 {
            write!(f, "{m}m")?;
        }
        frac(f, ns % 60_000_000_000, 9)?;
        f.write_str("s")
    }
}

/// `v / 10^prec` with the fraction's trailing zeros (and a bare `.`) left out.
fn frac(f: &mut fmt::Formatter<'_>, v: u128, prec: u32) -> fmt::Result {
    let scale = 10u128.pow(prec);
    write!(f, "{}", v / scale)?;
    let mut rest = v % scale;
    if rest == 0 {
        return Ok(());
    }
    let mut digits = prec as usize;
    while rest.is_multiple_of(10) {
        rest /= 10;
        digits -= 1;
    }
    write!(f, ".{rest:0digits$}")
}
