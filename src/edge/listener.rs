//! Listening sockets: one SO_REUSEPORT socket per entry point per worker, bound on the
//! main thread (so a bind error stops start-up cleanly) and handed to each worker.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Accept queue length per socket (the kernel caps it at `net.core.somaxconn`).
pub const DEFAULT_BACKLOG: i32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(
        "entry point {entry_point}: address {addr} is already in use (another proxyd or another program is listening there)"
    )]
    AddrInUse {
        entry_point: String,
        addr: SocketAddr,
    },
    #[error("entry point {entry_point}: cannot listen on {addr}: {source}")]
    Io {
        entry_point: String,
        addr: SocketAddr,
        source: io::Error,
    },
}

/// Binds `count` listeners for one entry point, all on the same port. With port 0 the
/// first socket picks an ephemeral port and the others join it.
pub fn bind_group(
    entry_point: &str,
    addr: SocketAddr,
    count: usize,
) -> Result<Vec<TcpListener>, ListenError> {
    let err = |source: io::Error| {
        if source.kind() == io::ErrorKind::AddrInUse {
            ListenError::AddrInUse {
                entry_point: entry_point.to_owned(),
                addr,
            }
        } else {
            ListenError::Io {
                entry_point: entry_point.to_owned(),
                addr,
                source,
            }
        }
    };
    if addr.port() != 0 {
        ensure_not_held(addr).map_err(err)?;
    }
    let first = bind_reuseport(addr).map_err(err)?;
    let bound = first.local_addr().map_err(err)?;
    let mut group = vec![first];
    for _ in 1..count {
        group.push(bind_reuseport(bound).map_err(err)?);
    }
    Ok(group)
}

/// SO_REUSEPORT lets a second proxyd (same user) join our port and silently take half
/// the traffic. A plain bind (SO_REUSEADDR only) fails while any socket listens on the
/// address, so trying one first detects a running instance.
fn ensure_not_held(addr: SocketAddr) -> io::Result<()> {
    let probe = new_socket(addr)?;
    probe.set_reuse_address(true)?;
    probe.bind(&addr.into())?;
    Ok(())
}

fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = new_socket(addr)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(DEFAULT_BACKLOG)?;
    Ok(socket.into())
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // `[::]` means IPv6 only here; an IPv4 entry point is configured separately,
        // as in Traefik, and dual-stack sockets would collide with it.
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}
