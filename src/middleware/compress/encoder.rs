//! A streaming compressor for one response body: input goes in piece by
//! piece, each piece is flushed (a sync flush: everything given so far can be
//! decoded by the client), and the output is taken out after each piece, so
//! memory stays at the compressor's window plus one piece's output. The last
//! piece ends the stream instead ([`Encoder::end`]): no flush block before the
//! final one.
//!
//! An encoder is reusable: [`Encoder::reset`] readies it for the next body
//! while keeping its tables (the worker's [`super::EncoderPool`] keeps a few),
//! because allocating and clearing a fresh deflate state per response cost
//! more than compressing a 16 KiB body at level 1.
//!
//! gzip is raw deflate (flate2 on zlib-rs) framed here (RFC 1952's 10-byte
//! header, CRC-32 and length trailer): flate2's `GzEncoder` cannot be reset.

use std::io::{self, Write};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

use super::Encoding;

/// gzip level 1, nginx's default `gzip_comp_level` (Traefik has no level key
/// and uses level 6). On a 16 KiB JSON body zlib-rs' level 1 costs about a
/// third of level 6's CPU for about 1.6× its output: proxyd is a proxy in
/// front of fast links, where CPU per request is what runs out first.
pub const DEFAULT_GZIP_LEVEL: u32 = 1;
/// Brotli quality 6 (andybalholm/brotli's default, as Traefik uses it).
pub const DEFAULT_BROTLI_QUALITY: u32 = 6;
/// zstd level 3 (zstd's default; klauspost's `SpeedDefault` is about it).
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
/// Brotli's window, log2: 4 MiB, its default.
const BROTLI_LGWIN: u32 = 22;
/// The brotli writer's own input buffer.
const BROTLI_BUFFER: usize = 16 * 1024;
/// Magic, CM = deflate, no flags, no mtime, no extra flags, OS unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

pub struct Encoder {
    kind: Kind,
    /// Compressed bytes not yet taken by the caller.
    out: Vec<u8>,
}

enum Kind {
    Gzip(Box<Gzip>),
    /// The brotli crate has no reset: a brotli encoder serves one body
    /// (`None` once finished: only consuming the writer ends its stream).
    Br(Option<Box<brotli::CompressorWriter<Vec<u8>>>>),
    Zstd(Box<zstd::stream::raw::Encoder<'static>>),
}

struct Gzip {
    deflate: Compress,
    crc: Crc,
    /// The header went out (it is sent with the first piece).
    started: bool,
}

impl Encoder {
    pub fn new(e: Encoding) -> io::Result<Encoder> {
        let kind = match e {
            Encoding::Gzip => Kind::Gzip(Box::new(Gzip {
                deflate: Compress::new(Compression::new(DEFAULT_GZIP_LEVEL), false),
                crc: Crc::new(),
                started: false,
            })),
            Encoding::Br => Kind::Br(Some(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                DEFAULT_BROTLI_QUALITY,
                BROTLI_LGWIN,
            )))),
            Encoding::Zstd => Kind::Zstd(Box::new(zstd::stream::raw::Encoder::new(
                DEFAULT_ZSTD_LEVEL,
            )?)),
        };
        Ok(Encoder {
            kind,
            out: Vec::new(),
        })
    }

    pub fn encoding(&self) -> Encoding {
        match self.kind {
            Kind::Gzip(_) => Encoding::Gzip,
            Kind::Br(_) => Encoding::Br,
            Kind::Zstd(_) => Encoding::Zstd,
        }
    }

    /// Readies the encoder for a new body, keeping its tables; `false` when it
    /// cannot be reused (brotli, or a reset that failed).
    pub fn reset(&mut self) -> bool {
        self.out.clear();
        match &mut self.kind {
            Kind::Gzip(g) => {
                g.deflate.reset();
                g.crc.reset();
                g.started = false;
                true
            }
            Kind::Br(_) => false,
            Kind::Zstd(z) => z.reinit().is_ok(),
        }
    }

    /// Compresses `data` and flushes it: afterwards [`Encoder::output`] holds
    /// every byte the client needs to decode all input so far.
    pub fn push(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.kind {
            Kind::Gzip(g) => {
                g.begin(&mut self.out);
                g.crc.update(data);
                deflate(&mut g.deflate, data, &mut self.out, FlushCompress::Sync)
            }
            Kind::Br(w) => {
                let w = w.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
                w.write_all(data)?;
                w.flush()?;
                self.out.append(w.get_mut());
                Ok(())
            }
            Kind::Zstd(z) => {
                zstd_run(z, data, &mut self.out)?;
                zstd_drain(|o| z.flush(o), &mut self.out)
            }
        }
    }

    /// The compressed bytes not yet taken; the caller sends and clears them.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Ends the stream: [`Encoder::output`] then holds the last compressed
    /// bytes (the trailer). The encoder is spent until [`Encoder::reset`].
    pub fn finish(&mut self) -> io::Result<()> {
        self.end(&[])
    }

    /// Compresses `data` as the last input and ends the stream, without the
    /// flush [`Encoder::push`] makes: when a whole body is one piece, its
    /// output is one final deflate block and the trailer.
    pub fn end(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.kind {
            Kind::Gzip(g) => {
                g.begin(&mut self.out);
                g.crc.update(data);
                deflate(&mut g.deflate, data, &mut self.out, FlushCompress::Finish)?;
                self.out.extend_from_slice(&g.crc.sum().to_le_bytes());
                self.out.extend_from_slice(&g.crc.amount().to_le_bytes());
                Ok(())
            }
            Kind::Br(w) => {
                let mut w = w.take().ok_or(io::ErrorKind::BrokenPipe)?;
                w.write_all(data)?;
                self.out.append(&mut w.into_inner());
                Ok(())
            }
            Kind::Zstd(z) => {
                zstd_run(z, data, &mut self.out)?;
                zstd_drain(|o| z.finish(o, true), &mut self.out)
            }
        }
    }
}

impl Gzip {
    /// The header, with the first output.
    fn begin(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            out.extend_from_slice(&GZIP_HEADER);
            self.started = true;
        }
    }
}

/// Runs raw deflate over all of `input` with `flush`, growing `out` until the
/// flush is complete (zlib: all input taken and output space left over).
fn deflate(
    c: &mut Compress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    flush: FlushCompress,
) -> io::Result<()> {
    loop {
        out.reserve(input.len() / 2 + 1024);
        let before = c.total_in();
        let status = c
            .compress_vec(input, out, flush)
            .map_err(io::Error::other)?;
        input = &input[(c.total_in() - before) as usize..];
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && out.len() < out.capacity(),
        };
        if done {
            return Ok(());
        }
    }
}

/// Feeds all of `data` to zstd (its output may stay buffered inside).
fn zstd_run(
    z: &mut zstd::stream::raw::Encoder<'static>,
    data: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut input = InBuffer::around(data);
    while input.pos() < data.len() {
        out.reserve(data.len() - input.pos() + 64);
        // Append: `around` alone would write from byte 0 over what an
        // earlier step of this piece left unsent.
        let at = out.len();
        z.run(&mut input, &mut OutBuffer::around_pos(out, at))?;
    }
    Ok(())
}

/// Calls a zstd flush or end step until it reports nothing left to write.
fn zstd_drain(
    mut step: impl FnMut(&mut OutBuffer<'_, Vec<u8>>) -> io::Result<usize>,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    loop {
        out.reserve(1024);
        let at = out.len();
        if step(&mut OutBuffer::around_pos(out, at))? == 0 {
            return Ok(());
        }
    }
}
