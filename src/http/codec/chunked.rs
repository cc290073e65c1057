//! Streaming decoder for the chunked transfer coding (RFC 9112 §7.1). It keeps
//! all state in a few integers so any split of the input (down to one byte per
//! call) gives the same result, hands payload out as ranges of the caller's
//! input (no copies), and bounds everything that is skipped over.

use std::ops::Range;

use super::{ChunkError, ChunkProgress};

/// Longest chunk-size line (size, extensions, CRLF). Extensions are skipped, so
/// an unbounded line would let a peer make us spin on bytes that carry nothing.
pub const MAX_CHUNK_LINE: u32 = 4096;
/// Largest trailer section (all trailer lines plus the final CRLF).
pub const MAX_TRAILERS: u32 = 16 * 1024;
/// 16 hex digits fill a u64, so this bound also rules out overflow.
const MAX_SIZE_DIGITS: u8 = 16;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size.
    #[default]
    Size,
    /// Whitespace after the size, which must lead to `;` (BWS before an extension).
    SizeWs,
    /// Inside chunk extensions, up to the CR.
    Ext,
    /// CR of the size line seen; LF required.
    SizeLf,
    /// `remaining` payload bytes to go.
    Data,
    /// Payload done; CR required.
    DataCr,
    /// LF after the payload required.
    DataLf,
    /// Start of a trailer line, or the CR of the final empty line.
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// LF of the final empty line.
    FinalLf,
    Done,
    /// A previous call failed; the stream cannot be resynchronised.
    Failed,
}

/// Streaming chunked-body state machine. Used both to pass a chunked body through
/// unchanged (finding where it ends) and to de-chunk it (for HTTP/1.0 clients).
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: State,
    /// Chunk size while parsing it, then the payload bytes still to come.
    remaining: u64,
    digits: u8,
    line_len: u32,
    trailer_len: u32,
    /// The trailer section's bytes (each field line with its CRLF), when
    /// asked for ([`ChunkedDecoder::keep_trailers`]); bounded by `MAX_TRAILERS`.
    kept: Option<Vec<u8>>,
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the decoder ready for the next body.
    #[inline]
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Keeps the trailer section's field lines for [`ChunkedDecoder::take_trailers`]
    /// (an HTTP/2 client gets them as a HEADERS frame).
    pub fn keep_trailers(&mut self) {
        self.kept = Some(Vec::new());
    }

    /// The trailer field lines kept (`name: value\r\n` each), empty if none.
    pub fn take_trailers(&mut self) -> Vec<u8> {
        self.kept.take().unwrap_or_default()
    }

    /// Whether the whole body (last chunk, trailers, final CRLF) has been seen.
    #[inline]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds `input`; calls `on_data` with each range of `input` that is body data
    /// (chunk payload). Chunk extensions and trailers are validated and skipped over.
    pub fn feed(
        &mut self,
        input: &[u8],
        on_data: &mut dyn FnMut(Range<usize>),
    ) -> Result<ChunkProgress, ChunkError> {
        if self.state == State::Failed {
            return Err(ChunkError("decoder used after an error"));
        }
        let mut pos = 0;
        while pos < input.len() {
            match self.state {
                State::Data => pos = self.take_data(input, pos, on_data),
                State::Done => break,
                _ => {
                    if let Err(e) = self.step(input[pos]) {
                        self.state = State::Failed;
                        return Err(e);
                    }
                    pos += 1;
                }
            }
        }
        Ok(ChunkProgress {
            consumed: pos,
            done: self.state == State::Done,
        })
    }

    /// Hands out as much payload as `input` holds in one range.
    #[inline]
    fn take_data(
        &mut self,
        input: &[u8],
        pos: usize,
        on_data: &mut dyn FnMut(Range<usize>),
    ) -> usize {
        let avail = (input.len() - pos) as u64;
        let n = self.remaining.min(avail) as usize;
        on_data(pos..pos + n);
        self.remaining -= n as u64;
        if self.remaining == 0 {
            self.state = State::DataCr;
        }
        pos + n
    }

    /// Advances the framing states by one byte.
    fn step(&mut self, b: u8) -> Result<(), ChunkError> {
        self.count(b)?;
        self.state = match self.state {
            State::Size => self.size_digit(b)?,
            State::SizeWs => bws_byte(b)?,
            State::Ext => ext_byte(b)?,
            State::SizeLf => self.end_size_line(b)?,
            State::DataCr => expect(b, b'\r', State::DataLf, "chunk data not followed by CRLF")?,
            State::DataLf => {
                expect(b, b'\n', State::Size, "chunk data not followed by CRLF")?;
                self.start_size_line()
            }
            State::TrailerStart if b == b'\r' => State::FinalLf,
            State::TrailerStart | State::TrailerName => trailer_name_byte(b, self.state)?,
            State::TrailerValue => trailer_value_byte(b)?,
            State::TrailerLf => expect(b, b'\n', State::TrailerStart, "trailer line without LF")?,
            State::FinalLf => expect(b, b'\n', State::Done, "final CRLF missing")?,
            State::Data | State::Done | State::Failed => unreachable!("handled by feed"),
        };
        Ok(())
    }

    /// Charges `b` to the size-line or trailer budget (and keeps a trailer
    /// line's byte when asked to).
    #[inline]
    fn count(&mut self, b: u8) -> Result<(), ChunkError> {
        match self.state {
            State::Size | State::SizeWs | State::Ext | State::SizeLf => {
                self.line_len += 1;
                if self.line_len > MAX_CHUNK_LINE {
                    return Err(ChunkError("chunk size line too long"));
                }
            }
            State::TrailerStart
            | State::TrailerName
            | State::TrailerValue
            | State::TrailerLf
            | State::FinalLf => {
                self.trailer_len += 1;
                if self.trailer_len > MAX_TRAILERS {
                    return Err(ChunkError("trailer section too large"));
                }
                // The final empty line's CR (TrailerStart) and LF are not kept.
                let end = matches!(
                    (self.state, b),
                    (State::FinalLf, _) | (State::TrailerStart, b'\r')
                );
                let field = !end;
                if let (Some(kept), true) = (&mut self.kept, field) {
                    kept.push(b);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn size_digit(&mut self, b: u8) -> Result<State, ChunkError> {
        let Some(v) = hex_value(b) else {
            if self.digits == 0 {
                return Err(ChunkError("missing chunk size"));
            }
            return after_size(b);
        };
        if self.digits == MAX_SIZE_DIGITS {
            return Err(ChunkError("chunk size too long"));
        }
        self.digits += 1;
        self.remaining = (self.remaining << 4) | u64::from(v);
        Ok(State::Size)
    }

    fn end_size_line(&mut self, b: u8) -> Result<State, ChunkError> {
        if b != b'\n' {
            return Err(ChunkError("chunk size line not ended by CRLF"));
        }
        // The last chunk (size 0) is followed by the trailer section.
        Ok(if self.remaining == 0 {
            State::TrailerStart
        } else {
            State::Data
        })
    }

    fn start_size_line(&mut self) -> State {
        self.remaining = 0;
        self.digits = 0;
        self.line_len = 0;
        State::Size
    }
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[inline]
fn expect(b: u8, want: u8, next: State, err: &'static str) -> Result<State, ChunkError> {
    if b == want {
        Ok(next)
    } else {
        Err(ChunkError(err))
    }
}

/// The first byte after the size digits: CR, `;` or BWS leading to `;`.
fn after_size(b: u8) -> Result<State, ChunkError> {
    match b {
        b' ' | b'\t' => Ok(State::SizeWs),
        b';' => Ok(State::Ext),
        b'\r' => Ok(State::SizeLf),
        b'\n' => Err(ChunkError("bare LF in chunk size line")),
        _ => Err(ChunkError("invalid chunk size")),
    }
}

/// Whitespace after the size is only BWS before `;` (RFC 9112 §7.1.1), so a CR
/// here is refused: `5 \r\n` is read differently by different peers.
fn bws_byte(b: u8) -> Result<State, ChunkError> {
    match b {
        b' ' | b'\t' => Ok(State::SizeWs),
        b';' => Ok(State::Ext),
        _ => Err(ChunkError("invalid chunk size")),
    }
}

/// Extension bytes are skipped, but control bytes (other than HTAB) are refused.
fn ext_byte(b: u8) -> Result<State, ChunkError> {
    match b {
        b'\r' => Ok(State::SizeLf),
        b'\n' => Err(ChunkError("bare LF in chunk size line")),
        b'\t' => Ok(State::Ext),
        0..=0x1f | 0x7f => Err(ChunkError("invalid byte in chunk extension")),
        _ => Ok(State::Ext),
    }
}

#[inline]
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A trailer field name: tokens up to a colon (no obs-fold, no space before ':').
fn trailer_name_byte(b: u8, state: State) -> Result<State, ChunkError> {
    match b {
        b':' if state == State::TrailerName => Ok(State::TrailerValue),
        _ if is_token(b) => Ok(State::TrailerName),
        _ => Err(ChunkError("invalid trailer field")),
    }
}

fn trailer_value_byte(b: u8) -> Result<State, ChunkError> {
    match b {
        b'\r' => Ok(State::TrailerLf),
        b'\t' | b' '..=0x7e | 0x80..=0xff => Ok(State::TrailerValue),
        _ => Err(ChunkError("invalid byte in trailer field")),
    }
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
