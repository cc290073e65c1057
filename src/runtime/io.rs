//! Owned-buffer I/O helpers over monoio's rent traits: read into a `Vec`'s spare
//! capacity, write a prefix of a `Vec`, each with an optional deadline.
//!
//! monoio takes buffers by value, and an operation dropped on timeout keeps its
//! buffer (docs/architecture.md, "monoio 0.2.4"), so after `Timeout` the `Vec`
//! handed in is left empty and the caller must treat the connection as finished.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::{Duration, Instant};

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

#[derive(Debug, thiserror::Error)]
pub enum IoFail {
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Runs `fut` until `deadline`, if any (coarse: see `worker::clock`).
pub async fn until<F: std::future::Future>(
    deadline: Option<Instant>,
    fut: F,
) -> Result<F::Output, IoFail> {
    crate::runtime::clock::until(deadline, fut)
        .await
        .map_err(|_| IoFail::Timeout)
}

/// An operation still waiting after this long makes its caller start watching the
/// other side of the exchange (a client that left, an upstream that answered).
pub const WATCH_AFTER: Duration = Duration::from_millis(50);

/// Runs `op`; once it has waited [`WATCH_AFTER`], races it against `watch()`.
/// `None` when the watch fired first: `op` is then dropped mid-flight, which
/// costs its buffer as a timeout does (module doc). The fast case arms no watch,
/// and the delay uses the worker's coarse clock, not a monoio timer.
pub async fn watched<F: Future, W: Future>(op: F, watch: impl FnOnce() -> W) -> Option<F::Output> {
    let mut op = pin!(op);
    let early = monoio::select! {
        biased;
        r = &mut op => Some(r),
        _ = crate::runtime::clock::deadline(Instant::now() + WATCH_AFTER) => None,
    };
    if early.is_some() {
        return early;
    }
    monoio::select! {
        biased;
        r = &mut op => Some(r),
        _ = watch() => None,
    }
}

/// Appends at most `limit` bytes read from `io` to `buf` (within its capacity, which
/// must exceed its length). Returns the number read; 0 means end of stream.
pub async fn read_some<R: AsyncReadRent>(
    io: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
    deadline: Option<Instant>,
) -> Result<usize, IoFail> {
    let owned = std::mem::take(buf);
    let start = owned.len();
    let end = owned.capacity().min(start.saturating_add(limit));
    debug_assert!(end > start, "read_some needs spare capacity");
    let (res, slice) = until(deadline, io.read(owned.slice_mut(start..end))).await?;
    *buf = slice.into_inner();
    Ok(res?)
}

/// Writes `buf[..len]`, keeping the buffer.
pub async fn write_prefix<W: AsyncWriteRent>(
    io: &mut W,
    buf: &mut Vec<u8>,
    len: usize,
    deadline: Option<Instant>,
) -> Result<(), IoFail> {
    if len == 0 {
        return Ok(());
    }
    let owned = std::mem::take(buf);
    let (res, slice) = until(deadline, io.write_all(owned.slice(..len))).await?;
    *buf = slice.into_inner();
    res?;
    Ok(())
}

/// Writes a whole `Vec` (the usual case for heads built in an output buffer).
pub async fn write_vec<W: AsyncWriteRent>(
    io: &mut W,
    buf: &mut Vec<u8>,
    deadline: Option<Instant>,
) -> Result<(), IoFail> {
    let len = buf.len();
    write_prefix(io, buf, len, deadline).await
}

/// Writes static bytes (prebuilt error responses, `100 Continue`).
pub async fn write_static<W: AsyncWriteRent>(
    io: &mut W,
    bytes: &'static [u8],
    deadline: Option<Instant>,
) -> Result<(), IoFail> {
    let (res, _) = until(deadline, io.write_all(bytes)).await?;
    res?;
    Ok(())
}

/// Makes sure `buf` has `min_free` spare bytes, doubling its capacity but never past
/// `max`. Returns false when it is full at `max` (no room for another read).
pub fn reserve_up_to(buf: &mut Vec<u8>, min_free: usize, max: usize) -> bool {
    if buf.capacity() - buf.len() < min_free && buf.capacity() < max {
        let target = (buf.capacity() * 2).max(buf.len() + min_free).min(max);
        buf.reserve_exact(target.saturating_sub(buf.len()));
    }
    buf.capacity() > buf.len()
}

/// Drops the first `n` bytes, keeping the rest (pipelined or next-message bytes).
#[inline]
pub fn consume(buf: &mut Vec<u8>, n: usize) {
    if n >= buf.len() {
        buf.clear();
    } else if n > 0 {
        buf.copy_within(n.., 0);
        buf.truncate(buf.len() - n);
    }
}
