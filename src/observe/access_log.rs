//! A worker's access-log writer. Each worker opens the file itself (`O_APPEND`) and
//! appends whole lines to a private buffer; the buffer goes out in one `write(2)` when
//! it holds `bufferingSize` lines, or on the worker's 50 ms tick. With `O_APPEND` on a
//! regular file the kernel places each write atomically at the end, so lines from
//! different workers never interleave and no lock is shared between workers.
//!
//! The write is a plain blocking syscall on the worker thread, like nginx's
//! `access_log`: to a local file it lands in the page cache in microseconds. It is
//! never retried: a failing write (full disk, I/O error) drops that batch, counts the
//! lines and logs one warning per failure streak, so a sick disk costs a failed
//! syscall per batch and never stalls or crashes a worker. A dedicated writer thread
//! with a queue was not chosen: it would add a cross-thread hop per batch and a
//! second place where lines wait, for no gain on a local file. Standard output (a
//! pipe, usually) is written in pieces of at most `PIPE_BUF` bytes, each made of whole
//! lines, which the kernel keeps whole too.
//!
//! SIGUSR1 bumps a process-wide counter; each worker notices it on its tick and
//! reopens the path (logrotate's `postrotate`). A file that vanished without one is
//! reported once and reopened (created) on the next check.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// What the kernel keeps atomic on a pipe.
const PIPE_BUF: usize = 4096;
/// Writes sooner than the line count when this much is buffered.
const MAX_BUFFER_BYTES: usize = 64 * 1024;

pub struct AccessLog {
    path: Option<PathBuf>,
    file: Option<File>,
    /// Inode of the open file, to notice a vanished or replaced path.
    ino: u64,
    pub buf: Vec<u8>,
    lines: usize,
    buffering: usize,
    /// A failure is being reported: stay quiet until a write works again.
    failing: bool,
    pub written: u64,
    pub dropped: u64,
    worker: usize,
}

impl AccessLog {
    pub fn open(path: Option<PathBuf>, buffering: usize, worker: usize) -> AccessLog {
        let mut log = AccessLog {
            path,
            file: None,
            ino: 0,
            buf: Vec::with_capacity(4096),
            lines: 0,
            buffering,
            failing: false,
            written: 0,
            dropped: 0,
            worker,
        };
        if log.path.is_none() {
            log.file = stdout_dup(worker);
        }
        log.reopen();
        log
    }

    /// (Re)opens the path; on failure keeps going without a file and reports it.
    pub fn reopen(&mut self) {
        let Some(path) = &self.path else { return };
        let opened = OpenOptions::new().create(true).append(true).open(path);
        match opened.and_then(|f| Ok((f.metadata()?.ino(), f))) {
            Ok((ino, f)) => {
                self.file = Some(f);
                self.ino = ino;
                self.failing = false;
            }
            Err(e) => {
                self.file = None;
                log::warn!(
                    "access log {}: cannot open ({e}); worker {} drops its lines until it can",
                    path.display(),
                    self.worker
                );
                self.failing = true;
            }
        }
    }

    /// Called after a line was appended to `buf`.
    #[inline]
    pub fn line_done(&mut self) {
        self.lines += 1;
        if self.lines > self.buffering || self.buf.len() >= MAX_BUFFER_BYTES {
            self.flush();
        }
    }

    /// Writes everything buffered, whole lines only.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let lines = self.lines as u64;
        let result = match (&self.path, &mut self.file) {
            (None, Some(out)) => write_pipe_safe(out, &self.buf),
            (Some(_), Some(f)) => f.write_all(&self.buf),
            (_, None) => Err(std::io::Error::other("file not open")),
        };
        match result {
            Ok(()) => {
                self.written += lines;
                self.failing = false;
            }
            Err(e) => {
                self.dropped += lines;
                if !self.failing {
                    log::warn!(
                        "access log {}: write failed ({e}); worker {} dropped {lines} line(s), more will be counted silently",
                        self.target(),
                        self.worker
                    );
                    self.failing = true;
                }
            }
        }
        self.buf.clear();
        self.lines = 0;
    }

    /// Once a second: a path that vanished or now names another file is reported and
    /// reopened, so lines do not go to an unlinked inode forever.
    pub fn check_path(&mut self) {
        let Some(path) = &self.path else { return };
        let now = std::fs::metadata(path).map(|m| m.ino()).ok();
        if self.file.is_some() && now == Some(self.ino) {
            return;
        }
        if self.file.is_some() {
            log::warn!(
                "access log {}: the file vanished or was replaced; worker {} reopens it",
                path.display(),
                self.worker
            );
        }
        self.flush();
        self.reopen();
    }

    fn target(&self) -> String {
        self.path
            .as_ref()
            .map_or("stdout".into(), |p| p.display().to_string())
    }
}

/// The worker's own duplicate of standard output, as a `File`: writes go straight to
/// the descriptor, because `std::io::stdout()` would add a process-wide lock and its
/// own line buffering. `None` (reported) if it cannot be duplicated.
fn stdout_dup(worker: usize) -> Option<File> {
    use std::os::fd::AsFd;
    match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Some(File::from(fd)),
        Err(e) => {
            log::warn!(
                "access log stdout: cannot duplicate ({e}); worker {worker} drops its lines"
            );
            None
        }
    }
}

/// Standard output is shared by every worker: write in whole-line pieces of at most
/// `PIPE_BUF` bytes so a pipe never interleaves two workers' lines.
fn write_pipe_safe(out: &mut File, buf: &[u8]) -> std::io::Result<()> {
    let mut rest = buf;
    while !rest.is_empty() {
        let cut = if rest.len() <= PIPE_BUF {
            rest.len()
        } else {
            // Last newline within PIPE_BUF; a longer single line goes whole.
            match memchr::memrchr(b'\n', &rest[..PIPE_BUF]) {
                Some(i) => i + 1,
                None => memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1),
            }
        };
        out.write_all(&rest[..cut])?;
        rest = &rest[cut..];
    }
    Ok(())
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.flush();
    }
}
