//! A worker's spare encoders: a compressed response takes one
//! ([`EncoderPool::take`]) and its [`Pooled`] guard gives it back, reset,
//! when the body is done or abandoned. Reusing an encoder keeps its tables
//! (deflate's window and hash chains, zstd's context), which a fresh one
//! allocates and clears per response. Worker-local: no lock, nothing crosses
//! threads.

use std::cell::RefCell;
use std::io;
use std::ops::{Deref, DerefMut};

use super::{Encoder, Encoding};

/// gzip encoders a worker keeps between responses: enough for the compressed
/// responses a busy worker has under way at once (each holds its encoder
/// while it waits on the client and the upstream, up to its last write: a
/// body that arrives whole gives it back before its one write). Past the bound a response
/// makes its own and drops it afterwards, which costs a fresh state's
/// allocation and page faults (at 10 concurrent responses and 4 kept, proxyd
/// spent 1.5× the CPU per request of 4 concurrent ones). A level-1 deflate
/// state is about 300 KiB, so a worker keeps at most about 20 MiB, and only
/// after that many compressed at once.
pub const DEFAULT_POOLED_GZIP: usize = 64;
/// zstd encoders kept: a level-3 context holds a few MiB.
pub const DEFAULT_POOLED_ZSTD: usize = 4;
/// A kept encoder's output buffer is trimmed to this.
const KEPT_OUTPUT_BYTES: usize = 64 * 1024;

#[derive(Default)]
pub struct EncoderPool {
    free: RefCell<Vec<Encoder>>,
}

impl EncoderPool {
    /// A ready encoder for `e`: a kept one if there is one, else a new one.
    pub fn take(&self, e: Encoding) -> io::Result<Pooled<'_>> {
        let kept = {
            let mut free = self.free.borrow_mut();
            let at = free.iter().rposition(|x| x.encoding() == e);
            at.map(|i| free.swap_remove(i))
        };
        let enc = match kept {
            Some(enc) => enc,
            None => Encoder::new(e)?,
        };
        Ok(Pooled {
            pool: self,
            enc: Some(enc),
        })
    }

    /// Encoders kept now.
    pub fn kept(&self) -> usize {
        self.free.borrow().len()
    }

    fn give(&self, mut enc: Encoder) {
        if !enc.reset() {
            return;
        }
        enc.output().shrink_to(KEPT_OUTPUT_BYTES);
        let e = enc.encoding();
        let bound = match e {
            Encoding::Zstd => DEFAULT_POOLED_ZSTD,
            _ => DEFAULT_POOLED_GZIP,
        };
        let mut free = self.free.borrow_mut();
        if free.iter().filter(|x| x.encoding() == e).count() < bound {
            free.push(enc);
        }
    }
}

/// An encoder taken from a pool; back to it when dropped.
pub struct Pooled<'a> {
    pool: &'a EncoderPool,
    /// Always `Some` until dropped.
    enc: Option<Encoder>,
}

impl Deref for Pooled<'_> {
    type Target = Encoder;
    fn deref(&self) -> &Encoder {
        self.enc
            .as_ref()
            .expect("a pooled encoder is present until dropped")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Encoder {
        self.enc
            .as_mut()
            .expect("a pooled encoder is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(enc) = self.enc.take() {
            self.pool.give(enc);
        }
    }
}
