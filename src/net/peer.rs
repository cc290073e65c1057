//! Looking at what a socket's peer did without consuming it or blocking: the one
//! `recv(MSG_PEEK | MSG_DONTWAIT)` probe behind the upstream pool's reuse check
//! and the client-departure watch.

use std::os::fd::RawFd;

/// What a one-byte, non-blocking peek saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peek {
    /// Nothing to read: the connection is open and quiet.
    Quiet,
    /// Bytes are waiting to be read.
    Data,
    /// The peer closed its side (EOF), reset the connection, or the socket failed.
    Gone,
}

/// Peeks at `fd` without consuming anything and without blocking the worker.
pub fn peek(fd: RawFd) -> Peek {
    let mut byte = 0u8;
    // SAFETY: recv writes at most one byte into `byte`, a valid, writable local;
    // `fd` is a socket the caller owns for the duration of the call. MSG_PEEK
    // leaves the data queued and MSG_DONTWAIT never blocks.
    let n = unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => Peek::Gone,
        n if n > 0 => Peek::Data,
        _ => match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => Peek::Quiet,
            _ => Peek::Gone,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    use super::{Peek, peek};

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    /// Polls until the peek leaves `Quiet` (loopback delivery is quick but async).
    fn settle(fd: i32) -> Peek {
        for _ in 0..1000 {
            match peek(fd) {
                Peek::Quiet => std::thread::sleep(std::time::Duration::from_millis(1)),
                p => return p,
            }
        }
        Peek::Quiet
    }

    #[test]
    fn peek_sees_quiet_data_and_close_without_consuming() {
        let (mut a, b) = pair();
        assert_eq!(peek(b.as_raw_fd()), Peek::Quiet);
        a.write_all(b"x").unwrap();
        assert_eq!(settle(b.as_raw_fd()), Peek::Data);
        // Still there: a peek consumes nothing.
        assert_eq!(peek(b.as_raw_fd()), Peek::Data);
        let (mut c, d) = pair();
        c.shutdown(Shutdown::Write).unwrap();
        assert_eq!(settle(d.as_raw_fd()), Peek::Gone);
        c.flush().unwrap();
    }
}
