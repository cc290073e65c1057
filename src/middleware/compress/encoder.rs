//! A streaming compressor for one response body: input goes in piece by
//! piece, each piece is flushed (a sync flush: everything given so far can be
//! decoded by the client), and the output is taken out after each piece, so
//! memory stays at the compressor's window plus one piece's output.
//!
//! Levels are the defaults of the Go libraries Traefik uses: gzip 6 (zlib's
//! default), brotli quality 6 (andybalholm/brotli's default), zstd 3
//! (klauspost's `SpeedDefault` is about zstd level 3).

use std::io::{self, Write};

use super::Encoding;

const GZIP_LEVEL: u32 = 6;
const BROTLI_QUALITY: u32 = 6;
/// Brotli's window, log2: 4 MiB, its default.
const BROTLI_LGWIN: u32 = 22;
/// The brotli writer's own input buffer.
const BROTLI_BUFFER: usize = 16 * 1024;
const ZSTD_LEVEL: i32 = 3;

pub enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    pub fn new(e: Encoding) -> io::Result<Encoder> {
        Ok(match e {
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(GZIP_LEVEL),
            )),
            Encoding::Br => Encoder::Br(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                BROTLI_QUALITY,
                BROTLI_LGWIN,
            ))),
            Encoding::Zstd => {
                Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?)
            }
        })
    }

    /// Compresses `data` and flushes it: afterwards [`Encoder::output`] holds
    /// every byte the client needs to decode all input so far.
    pub fn push(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Gzip(w) => {
                w.write_all(data)?;
                w.flush()
            }
            Encoder::Br(w) => {
                w.write_all(data)?;
                w.flush()
            }
            Encoder::Zstd(w) => {
                w.write_all(data)?;
                w.flush()
            }
        }
    }

    /// The compressed bytes not yet taken; the caller sends and clears them.
    pub fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Encoder::Gzip(w) => w.get_mut(),
            Encoder::Br(w) => w.get_mut(),
            Encoder::Zstd(w) => w.get_mut(),
        }
    }

    /// Ends the stream: the last compressed bytes (the trailer).
    pub fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Encoder::Gzip(w) => w.finish(),
            Encoder::Br(w) => Ok(w.into_inner()),
            Encoder::Zstd(w) => w.finish(),
        }
    }
}
