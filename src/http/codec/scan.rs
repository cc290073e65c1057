//! Finding the end of a message head (`\r\n\r\n`) incrementally and within a size
//! limit, refusing bare LF on the way. httparse is only called once a complete
//! head is known to be in the buffer, so a slow client costs one pass over its
//! bytes, not one pass per read.

use super::ParseError;

/// RFC 9112 §2.2 lets a server ignore at least one empty line before a request
/// line (clients sometimes send a stray CRLF after a body). More than a few is
/// not a client bug but noise, so it is bounded.
pub(crate) const MAX_LEADING_EMPTY_LINES: usize = 4;

/// Scan state carried between calls for the same, growing buffer.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HeadScan {
    /// Offset of the first byte of the start line (after skipped empty lines).
    start: usize,
    /// Every byte before this offset has been checked.
    scanned: usize,
}

impl HeadScan {
    /// Returns the head length (through the final CRLF) once the head is complete.
    /// `TooLarge` when the head does not end within `max_head` bytes.
    pub(crate) fn find_end(
        &mut self,
        buf: &[u8],
        max_head: usize,
    ) -> Result<Option<usize>, ParseError> {
        if buf.len() < self.scanned {
            // A different (shorter) buffer than last time: the caller did not reset.
            *self = Self::default();
        }
        let limit = buf.len().min(max_head);
        if self.scanned == self.start {
            self.skip_empty_lines(&buf[..limit])?;
        }
        if let Some(end) = self.scan_lines(&buf[..limit])? {
            return Ok(Some(end));
        }
        if buf.len() >= max_head {
            return Err(ParseError::TooLarge);
        }
        Ok(None)
    }

    /// Skips CRLF pairs before the start line. Stops (without error) on a lone CR
    /// at the end of the buffer: the LF may still arrive.
    fn skip_empty_lines(&mut self, buf: &[u8]) -> Result<(), ParseError> {
        loop {
            match buf.get(self.start..self.start + 2) {
                Some(b"\r\n") => {
                    if self.start / 2 >= MAX_LEADING_EMPTY_LINES {
                        return Err(ParseError::Invalid(
                            "too many empty lines before start line",
                        ));
                    }
                    self.start += 2;
                    self.scanned = self.start;
                }
                Some([b'\r', _]) => return Err(ParseError::Invalid("bare CR in head")),
                _ => break,
            }
        }
        if buf.get(self.start) == Some(&b'\n') {
            return Err(ParseError::Invalid("bare LF in head"));
        }
        Ok(())
    }

    /// Walks the LFs after `scanned`: each must follow a CR, and the first LF that
    /// completes `\r\n\r\n` ends the head.
    #[inline]
    fn scan_lines(&mut self, buf: &[u8]) -> Result<Option<usize>, ParseError> {
        if buf.get(self.start).is_none_or(|&b| b == b'\r') {
            // Nothing yet, or a lone CR whose LF has not arrived: wait.
            return Ok(None);
        }
        let from = self.scanned.max(self.start);
        for lf in memchr::memchr_iter(b'\n', &buf[from..]) {
            let lf = from + lf;
            // `skip_empty_lines` guarantees buf[start] is neither CR nor LF, so
            // every LF found here has at least one byte of the start line before it.
            if buf[lf - 1] != b'\r' {
                return Err(ParseError::Invalid("bare LF in head"));
            }
            if lf >= self.start + 3 && &buf[lf - 3..lf - 1] == b"\r\n" {
                return Ok(Some(lf + 1));
            }
        }
        self.scanned = buf.len();
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(buf: &[u8], max: usize) -> Result<Option<usize>, ParseError> {
        HeadScan::default().find_end(buf, max)
    }

    #[test]
    fn finds_end_and_leaves_body_alone() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY\r\n\r\n";
        assert_eq!(find(buf, 1024), Ok(Some(27)));
    }

    #[test]
    fn incremental_scan_matches_one_shot() {
        let buf = b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
        let mut scan = HeadScan::default();
        let mut got = None;
        for n in 0..=buf.len() {
            if let Some(end) = scan.find_end(&buf[..n], 1024).unwrap() {
                got = Some((n, end));
                break;
            }
        }
        assert_eq!(got, Some((29, 29)));
    }

    #[test]
    fn bare_lf_refused_anywhere() {
        for buf in [
            &b"GET / HTTP/1.1\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",
            b"\nGET / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(find(buf, 1024), Err(ParseError::Invalid("bare LF in head")));
        }
    }

    #[test]
    fn leading_empty_lines_bounded() {
        let ok = b"\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(find(ok, 1024), Ok(Some(ok.len())));
        let bad = b"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert!(matches!(find(bad, 1024), Err(ParseError::Invalid(_))));
        assert!(matches!(find(b"\rX", 1024), Err(ParseError::Invalid(_))));
        assert_eq!(find(b"\r", 1024), Ok(None));
        assert_eq!(find(b"\r\n", 1024), Ok(None));
    }

    #[test]
    fn size_limit_boundary() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let len = buf.len();
        assert_eq!(find(buf, len), Ok(Some(len)));
        assert_eq!(find(buf, len - 1), Err(ParseError::TooLarge));
        // Incomplete and already at the limit: no terminator can fit any more.
        assert_eq!(find(&buf[..len - 1], len - 1), Err(ParseError::TooLarge));
        assert_eq!(find(&buf[..len - 1], len), Ok(None));
    }
}
