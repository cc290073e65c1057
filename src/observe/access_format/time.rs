//! Timestamps for access-log lines and API documents, formatted by hand from
//! the Unix time (no date crate, no formatting machinery on the hot path): CLF's
//! `02/Jan/2006:15:04:05 +0000` and RFC 3339 with nanoseconds, both UTC.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month, day, hour, minute, second, nanos) in UTC.
fn civil(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos(),
    )
}

pub(super) fn clf_time(out: &mut Vec<u8>, t: SystemTime) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, _) = civil(t);
    let m = MONTHS[(mo - 1) as usize];
    let _ = write!(out, "{d:02}/{m}/{y}:{h:02}:{mi:02}:{s:02} +0000");
}

pub fn rfc3339(out: &mut Vec<u8>, t: SystemTime) {
    let mut buf = [0u8; 30];
    let n = rfc3339_into(&mut buf, t);
    out.extend_from_slice(&buf[..n]);
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` into `buf`, without the formatting machinery;
/// returns the length (30 for years 0–9999).
pub(super) fn rfc3339_into(buf: &mut [u8; 30], t: SystemTime) -> usize {
    let (y, mo, d, h, mi, s, ns) = civil(t);
    let mut put = |at: usize, v: u64, digits: usize| {
        let mut v = v;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y.clamp(0, 9999) as u64, 4);
    put(5, u64::from(mo), 2);
    put(8, u64::from(d), 2);
    put(11, h, 2);
    put(14, mi, 2);
    put(17, s, 2);
    put(20, u64::from(ns), 9);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (29, b'Z'),
    ] {
        buf[at] = c;
    }
    30
}
