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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;

    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

    use super::{Peek, probe};

    /// Moves every queued record from `from` into `to`.
    fn pass(from: &mut dyn FnMut(&mut Vec<u8>), to: &mut rustls::ConnectionCommon<impl Sized>) {
        let mut buf = Vec::new();
        from(&mut buf);
        let mut rest = &buf[..];
        while !rest.is_empty() {
            to.read_tls(&mut rest).unwrap();
            to.process_new_packets().unwrap();
        }
    }

    /// A client and a server connection after an in-memory handshake.
    fn handshaken() -> (ClientConnection, ServerConnection) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = "a.test".try_into().unwrap();
        let mut c = ClientConnection::new(Arc::new(client), name).unwrap();
        let mut s = ServerConnection::new(Arc::new(server)).unwrap();
        while c.is_handshaking() || s.is_handshaking() || s.wants_write() {
            pass(
                &mut |b| {
                    while c.wants_write() {
                        c.write_tls(b).unwrap();
                    }
                },
                &mut s,
            );
            pass(
                &mut |b| {
                    while s.wants_write() {
                        s.write_tls(b).unwrap();
                    }
                },
                &mut c,
            );
        }
        (c, s)
    }

    /// Sends what the client queued over the socket.
    fn flush(c: &mut ClientConnection, sock: &mut UnixStream) {
        while c.wants_write() {
            c.write_tls(sock).unwrap();
        }
    }

    #[test]
    fn probe_tells_a_request_from_close_notify_and_keeps_the_request() {
        let (mut c, mut s) = handshaken();
        let (mut client_sock, server_sock) = UnixStream::pair().unwrap();
        let fd = server_sock.as_raw_fd();
        assert_eq!(probe(fd, &mut s), Peek::Quiet, "nothing sent");
        c.writer().write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        flush(&mut c, &mut client_sock);
        assert_eq!(probe(fd, &mut s), Peek::Data, "a pipelined request");
        let mut got = [0u8; 18];
        s.reader().read_exact(&mut got).unwrap();
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n", "kept for the next read");
        c.send_close_notify();
        flush(&mut c, &mut client_sock);
        assert_eq!(
            probe(fd, &mut s),
            Peek::Gone,
            "close_notify, socket still open"
        );
    }

    #[test]
    fn probe_sees_a_tcp_close_as_gone() {
        let (_c, mut s) = handshaken();
        let (client_sock, server_sock) = UnixStream::pair().unwrap();
        drop(client_sock);
        assert_eq!(probe(server_sock.as_raw_fd(), &mut s), Peek::Gone);
    }
}
