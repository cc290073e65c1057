//! A set of HTTP statuses, parsed from Traefik's `types.HTTPCodeRanges`
//! strings ("500-599", "502", "404,418"), kept as a bitmap so that a policy
//! holding one stays `Copy` and a lookup is one bit test on the data path.

use crate::middleware::errors::parse_ranges;

/// Statuses 0 to 1023: every status an upstream can send (three digits).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusSet([u64; 16]);

impl StatusSet {
    /// Each string a comma list of `a` or `a-b`; an inverted or out-of-range
    /// bound is an error, as is anything that is not a number.
    pub fn parse(list: &[String]) -> Result<StatusSet, String> {
        let mut set = StatusSet::default();
        for (a, b) in parse_ranges(list)? {
            if a > b || b > 999 {
                return Err(format!("{a}-{b} is not a range of statuses"));
            }
            for s in a..=b {
                set.0[usize::from(s / 64)] |= 1 << (s % 64);
            }
        }
        Ok(set)
    }

    pub fn contains(&self, status: u16) -> bool {
        let word = usize::from(status / 64);
        word < self.0.len() && self.0[word] & (1 << (status % 64)) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

impl std::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on: Vec<u16> = (0..1024).filter(|s| self.contains(*s)).collect();
        write!(f, "StatusSet({on:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_single_statuses_as_traefik_writes_them() {
        let s = StatusSet::parse(&["500-503".into(), "404,418".into()]).unwrap();
        for yes in [500, 501, 502, 503, 404, 418] {
            assert!(s.contains(yes), "{yes}");
        }
        for no in [499, 504, 200, 405, 1000, 65535] {
            assert!(!s.contains(no), "{no}");
        }
        assert!(StatusSet::default().is_empty() && !s.is_empty());
    }

    #[test]
    fn bad_ranges_are_errors() {
        for bad in ["abc", "500-", "599-500", "500-1200"] {
            assert!(StatusSet::parse(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
