//! Watching a TLS client for leaving while its request is upstream. A plain
//! socket is watched with a one-byte peek (`peer`), but under TLS a peek cannot
//! tell a close_notify alert from a pipelined request: TLS 1.3 encrypts both as
//! application data. So the bytes that arrive are read (non-blocking, never an
//! io_uring read that a cancelled watch could lose) straight into rustls, which
//! keeps them: a request's plaintext waits in rustls for the next read, and a
//! close_notify is seen for what it is, a clean end.

use std::io::{self, Read};
use std::os::fd::RawFd;

use rustls::ServerConnection;

use crate::net::peer::Peek;

/// Reads what the socket has now, without blocking.
struct NonBlocking(RawFd);

impl Read for NonBlocking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is a valid, writable slice of `buf.len()` bytes and `fd` a
        // socket the caller owns for the call; MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recv(
                self.0,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

/// One look at a readable socket: `Gone` on a close_notify, a TCP end or a
/// broken connection; `Data` once a request's bytes are waiting; `Quiet` when
/// nothing (or only part of a record, or a handshake message) came.
pub fn probe(fd: RawFd, conn: &mut ServerConnection) -> Peek {
    match conn.read_tls(&mut NonBlocking(fd)) {
        Ok(0) => return Peek::Gone,
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            return Peek::Quiet;
        }
        // A socket error: the client is gone.
        Err(e) if e.raw_os_error().is_some() => return Peek::Gone,
        // rustls' own buffer is full of what the client sent: it is there.
        Err(_) => return Peek::Data,
    }
    match conn.process_new_packets() {
        Err(_) => Peek::Gone,
        Ok(state) if state.peer_has_closed() => Peek::Gone,
        Ok(state) if state.plaintext_bytes_to_read() > 0 => Peek::Data,
        Ok(_) => Peek::Quiet,
    }
}
