//! Moving bytes between the socket and rustls: ciphertext in ([`pump`]),
//! plaintext out ([`read_plain`]), plaintext in and records out
//! ([`write_plain`], [`flush_tls`]), and the one close ([`close`]). Shared by the
//! whole stream and by its halves, which hold the same state in parts.

use std::io::{self, BufRead, Write};
use std::time::Instant;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use rustls::ConnectionCommon;

use super::{
    CLOSE_NOTIFY_TIME, RECORD_BUF, ReadSide, Shared, TlsSide, WriteSide, io_fail, tls_error,
};
use crate::runtime::io::{read_some, reserve_up_to, write_vec};

/// Gives rustls more ciphertext: buffered bytes first, else one socket read.
/// Errors on a TLS protocol error or on end of stream during the handshake.
pub(super) async fn pump<R: AsyncReadRent, C: TlsSide>(
    io: &mut R,
    conn: &Shared<C>,
    rd: &mut ReadSide,
) -> io::Result<()> {
    if rd.pos < rd.buf.len() {
        let mut c = conn.borrow_mut();
        let mut rest = &rd.buf[rd.pos..];
        rd.pos += c.read_tls(&mut rest)?;
        c.process_new_packets().map_err(tls_error)?;
        return Ok(());
    }
    if rd.eof {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    rd.buf.clear();
    rd.pos = 0;
    reserve_up_to(&mut rd.buf, RECORD_BUF, RECORD_BUF);
    let n = read_some(io, &mut rd.buf, usize::MAX, None)
        .await
        .map_err(io_fail)?;
    if n == 0 {
        rd.eof = true;
        let mut c = conn.borrow_mut();
        c.read_tls(&mut io::empty())?;
        c.process_new_packets().map_err(tls_error)?;
        if c.is_handshaking() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

/// Copies plaintext into the start of `out`, as a socket read fills it; 0 at the
/// end (close_notify, or a TCP close without one, which HTTP/1.1 framing makes
/// harmless).
pub(super) async fn read_plain<R: AsyncReadRent, T: IoBufMut, C: TlsSide>(
    io: &mut R,
    conn: &Shared<C>,
    rd: &mut ReadSide,
    out: &mut T,
) -> io::Result<usize> {
    let room = out.bytes_total();
    if room == 0 {
        return Ok(0);
    }
    loop {
        match copy_plain(&mut **conn.borrow_mut(), out, room) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        if rd.eof && rd.pos >= rd.buf.len() {
            return Ok(0);
        }
        pump(io, conn, rd).await?;
    }
}

/// Copies up to `room` bytes of decrypted plaintext into `out`. The caller's buffer
/// may be uninitialised, so no `&mut [u8]` is made over it: the bytes are copied
/// from rustls' own buffer (`BufRead`) through the raw write pointer.
fn copy_plain<T: IoBufMut, D>(
    c: &mut ConnectionCommon<D>,
    out: &mut T,
    room: usize,
) -> io::Result<usize> {
    let mut reader = c.reader();
    let chunk = reader.fill_buf()?;
    let n = chunk.len().min(room);
    // SAFETY: `write_ptr` is valid for writes of `bytes_total()` (= `room`) bytes
    // while we hold `out` (IoBufMut's contract), and `n <= room`; the source is
    // `n` initialised bytes inside rustls, which cannot overlap a buffer we own.
    unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), out.write_ptr(), n) };
    reader.consume(n);
    Ok(n)
}

/// Sends every record rustls has queued, by `deadline` if given.
pub(super) async fn flush_tls<W: AsyncWriteRent, C: TlsSide>(
    io: &mut W,
    conn: &Shared<C>,
    wr: &mut WriteSide,
    deadline: Option<Instant>,
) -> io::Result<()> {
    loop {
        {
            let mut c = conn.borrow_mut();
            if !c.wants_write() {
                return Ok(());
            }
            wr.buf.clear();
            while c.wants_write() {
                c.write_tls(&mut wr.buf)?;
            }
        }
        wr.writing = true;
        write_vec(io, &mut wr.buf, deadline)
            .await
            .map_err(io_fail)?;
        wr.writing = false;
    }
}

pub(super) async fn write_plain<W: AsyncWriteRent, C: TlsSide>(
    io: &mut W,
    conn: &Shared<C>,
    wr: &mut WriteSide,
    data: &[u8],
) -> io::Result<usize> {
    let n = conn.borrow_mut().writer().write(data)?;
    flush_tls(io, conn, wr, None).await?;
    Ok(n)
}

/// The one way a TLS connection is closed: close_notify (after whatever rustls
/// still holds), flushed within [`CLOSE_NOTIFY_TIME`], then a TCP half-close.
/// Once only; skipped after a write that was given up mid-record.
pub(super) async fn close<W: AsyncWriteRent, C: TlsSide>(
    io: &mut W,
    conn: &Shared<C>,
    wr: &mut WriteSide,
) -> io::Result<()> {
    if std::mem::replace(&mut wr.closed, true) {
        return Ok(());
    }
    if !wr.writing {
        conn.borrow_mut().send_close_notify();
        let deadline = Instant::now() + CLOSE_NOTIFY_TIME;
        flush_tls(io, conn, wr, Some(deadline)).await?;
    }
    io.shutdown().await
}
