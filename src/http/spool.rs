//! A body kept whole for `buffering`: in memory up to a threshold, the rest in
//! a temporary file, written and read back with monoio's file operations
//! (io_uring on a uring worker, so the worker never waits on the disk; plain
//! `pwrite`/`pread` on the epoll fallback). The file is created without a
//! name (`O_TMPFILE`) in `$TMPDIR`, or, where the file system cannot, named
//! and unlinked at once: nothing is left behind, even by a crash, and the
//! space goes back when the spool is dropped.

use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::fs::{File, OpenOptions};

use crate::http::body::{BODY_BUF_SIZE, RelayError, Sink, write_piece};
use crate::http::server::ReqState;
use crate::runtime::io::IoFail;

pub struct Spool {
    mem: Vec<u8>,
    /// Bytes kept in `mem` at most; the rest goes to `file`.
    mem_max: usize,
    file: Option<File>,
    file_len: u64,
    /// Past it a write fails with `TooLarge`.
    max: Option<u64>,
}

impl Spool {
    pub fn new(mem_max: u64, max: Option<u64>) -> Spool {
        Spool {
            mem: Vec::new(),
            mem_max: usize::try_from(mem_max).unwrap_or(usize::MAX),
            file: None,
            file_len: 0,
            max,
        }
    }

    /// The body's length.
    pub fn len(&self) -> u64 {
        self.mem.len() as u64 + self.file_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether part of the body went to disk.
    pub fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Appends `buf[..len]`, keeping `buf`.
    async fn append(&mut self, buf: &mut Vec<u8>, len: usize) -> Result<(), RelayError> {
        if self.max.is_some_and(|m| self.len() + len as u64 > m) {
            return Err(RelayError::TooLarge);
        }
        let room = self.mem_max.saturating_sub(self.mem.len()).min(len);
        if self.file.is_none() {
            self.mem.extend_from_slice(&buf[..room]);
            if room == len {
                return Ok(());
            }
            self.file = Some(create().await.map_err(write_fail)?);
        }
        // Once a file exists, the memory part is complete: the rest is in order
        // after it.
        let skip = if self.file_len == 0 { room } else { 0 };
        let file = self.file.as_ref().expect("created above");
        let owned = std::mem::take(buf);
        let (r, slice) = file
            .write_all_at(owned.slice(skip..len), self.file_len)
            .await;
        *buf = slice.into_inner();
        r.map_err(write_fail)?;
        self.file_len += (len - skip) as u64;
        Ok(())
    }

    /// Writes the whole body into `dst`, using `scratch` for the file's part.
    /// The spool stays whole, so it can be written again (another attempt).
    pub async fn replay<W: Sink>(
        &mut self,
        dst: &mut W,
        scratch: &mut Vec<u8>,
        write_timeout: Option<std::time::Duration>,
    ) -> Result<u64, RelayError> {
        let deadline = || write_timeout.map(|t| Instant::now() + t);
        if !self.mem.is_empty() {
            let len = self.mem.len();
            let last = self.file.is_none();
            write_piece(dst, &mut self.mem, len, deadline(), last).await?;
        }
        let Some(file) = &self.file else {
            return Ok(self.len());
        };
        let mut at = 0u64;
        while at < self.file_len {
            let want = (self.file_len - at).min(BODY_BUF_SIZE as u64) as usize;
            let mut owned = std::mem::take(scratch);
            owned.clear();
            owned.reserve(want);
            let (r, slice) = file.read_exact_at(owned.slice_mut(0..want), at).await;
            *scratch = slice.into_inner();
            r.map_err(|e| RelayError::Read(IoFail::Io(e)))?;
            at += want as u64;
            write_piece(dst, scratch, want, deadline(), at == self.file_len).await?;
        }
        Ok(self.len())
    }
}

impl Spool {
    /// [`Spool::replay`] for another attempt, noting in `req` how far it
    /// went: an upstream that stopped taking the body is mid-request, and
    /// `Broken` keeps its connection out of the pool.
    pub async fn resend<W: Sink>(
        &mut self,
        dst: &mut W,
        write_timeout: Option<std::time::Duration>,
        req: &mut ReqState,
    ) -> Result<u64, RelayError> {
        let sent = self.replay(dst, &mut Vec::new(), write_timeout).await;
        *req = match sent {
            Ok(_) => ReqState::Consumed,
            Err(_) => ReqState::Broken,
        };
        sent
    }
}

/// The spool as the destination of a relayed body.
pub struct SpoolSink<'a>(pub &'a mut Spool);

impl Sink for SpoolSink<'_> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        _deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.0.append(buf, len).await
    }

    /// Nothing to watch: the disk does not leave.
    async fn watch(&self) {
        std::future::pending().await
    }
}

fn write_fail(e: std::io::Error) -> RelayError {
    RelayError::Write(IoFail::Io(e))
}

/// A file with no name in the temporary directory.
async fn create() -> std::io::Result<File> {
    let dir = std::env::temp_dir();
    let unnamed = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir)
        .await;
    match unnamed {
        Ok(f) => Ok(f),
        // File systems without O_TMPFILE: a fresh name, unlinked at once.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("proxyd-spool-{}-{n}", std::process::id()));
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .await?;
            std::fs::remove_file(&path)?;
            Ok(f)
        }
        Err(e) => Err(e),
    }
}
