//! RESP2, the Redis wire protocol, without I/O: [`encode`] writes a command
//! (an array of bulk strings) into a buffer, [`parse`] reads one reply from
//! the bytes received so far, or says it needs more. The async client that
//! moves these bytes is `net/redis_client.rs`.
//!
//! Replies are bounded (a bulk string of at most [`MAX_BULK`] bytes, arrays of
//! at most [`MAX_ELEMENTS`] elements nested at most [`MAX_DEPTH`] deep), so a
//! broken or hostile server yields an error, never a huge allocation or a
//! deep recursion.

use thiserror::Error;

/// Largest bulk string accepted (Redis' own default `proto-max-bulk-len`).
pub const MAX_BULK: usize = 512 * 1024 * 1024;
/// Most elements in one array.
pub const MAX_ELEMENTS: usize = 1 << 20;
/// Deepest nesting of arrays.
pub const MAX_DEPTH: usize = 8;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(Vec<u8>),
    /// `-ERR ...`: the server refused the command (not a protocol error).
    Error(Vec<u8>),
    Integer(i64),
    /// `$n`; `None` is the null bulk string (`$-1`).
    Bulk(Option<Vec<u8>>),
    /// `*n`; `None` is the null array (`*-1`).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The bytes of a simple or bulk string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Simple(b) | Reply::Bulk(Some(b)) => Some(b),
            _ => None,
        }
    }
}

/// The bytes are not RESP2 (or break a bound): the connection is unusable.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RespError {
    #[error("unknown reply type byte {0:#04x}")]
    Type(u8),
    #[error("malformed length or integer")]
    Number,
    #[error("bulk string of {0} bytes is over the limit")]
    BulkTooLong(i64),
    #[error("array of {0} elements is over the limit")]
    TooManyElements(i64),
    #[error("arrays nested more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("bulk string not followed by CRLF")]
    MissingCrlf,
}

/// Appends `args` as one command: `*<n>` then each as `$<len>` + bytes.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    for a in args {
        header(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One reply from the start of `buf`: `Ok(Some((reply, bytes used)))`, or
/// `Ok(None)` when `buf` holds only part of it (read more and call again).
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, RespError> {
    let mut at = 0;
    match value(buf, &mut at, 0)? {
        Some(r) => Ok(Some((r, at))),
        None => Ok(None),
    }
}

/// Parses one value at `*at`, moving it past the value; `None`: incomplete.
fn value(buf: &[u8], at: &mut usize, depth: usize) -> Result<Option<Reply>, RespError> {
    let Some(line) = line(buf, *at) else {
        return Ok(None);
    };
    if line == *at {
        // An empty line has no type byte.
        return Err(RespError::Type(b'\r'));
    }
    let (kind, text) = (buf[*at], &buf[*at + 1..line]);
    let after = line + 2;
    let reply = match kind {
        b'+' => Reply::Simple(text.to_vec()),
        b'-' => Reply::Error(text.to_vec()),
        b':' => Reply::Integer(number(text)?),
        b'$' => {
            let n = number(text)?;
            if n < 0 {
                *at = after;
                return Ok(Some(Reply::Bulk(None)));
            }
            if n as u64 > MAX_BULK as u64 {
                return Err(RespError::BulkTooLong(n));
            }
            let end = after + n as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(RespError::MissingCrlf);
            }
            *at = end + 2;
            return Ok(Some(Reply::Bulk(Some(buf[after..end].to_vec()))));
        }
        b'*' => {
            let n = number(text)?;
            *at = after;
            if n < 0 {
                return Ok(Some(Reply::Array(None)));
            }
            return array(buf, at, n, depth);
        }
        other => return Err(RespError::Type(other)),
    };
    *at = after;
    Ok(Some(reply))
}

fn array(buf: &[u8], at: &mut usize, n: i64, depth: usize) -> Result<Option<Reply>, RespError> {
    if n as u64 > MAX_ELEMENTS as u64 {
        return Err(RespError::TooManyElements(n));
    }
    if depth >= MAX_DEPTH {
        return Err(RespError::TooDeep);
    }
    // Capacity from what has arrived, not from the count the server claims.
    let mut items = Vec::with_capacity((n as usize).min(buf.len() - *at));
    for _ in 0..n {
        match value(buf, at, depth + 1)? {
            Some(r) => items.push(r),
            None => return Ok(None),
        }
    }
    Ok(Some(Reply::Array(Some(items))))
}

/// The index of the CR of the CRLF ending the line that starts at `from`.
fn line(buf: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(buf.get(from..)?, b"\r\n").map(|cr| from + cr)
}

fn number(text: &[u8]) -> Result<i64, RespError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RespError::Number)
}

#[cfg(test)]
#[path = "resp_tests.rs"]
mod tests;
