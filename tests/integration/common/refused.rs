//! An address that refuses connections for as long as the test process runs.
//!
//! Binding port 0 and closing the listener leaves a port that any other test
//! running in parallel can take a moment later (its own listener, or the
//! ephemeral source port of a connection), and then a request meant to be
//! refused gets an answer or hangs. A socket bound without `SO_REUSEADDR`, and
//! never listening, keeps the port: the kernel gives it to no other bind and no
//! outgoing connection, and a connection to it is refused (RST).

use std::net::SocketAddr;

use socket2::{Domain, Socket, Type};

/// `127.0.0.1:<port>` where nothing listens, reserved until the process ends.
/// The socket is leaked on purpose: a handful per run, and no test can then
/// drop it while proxyd still dials the address.
pub fn refused_addr() -> SocketAddr {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = ([127, 0, 0, 1], 0).into();
    socket.bind(&any.into()).expect("bind 127.0.0.1:0");
    let addr = socket
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP address");
    std::mem::forget(socket);
    addr
}

/// `http://` [`refused_addr`].
pub fn refused_url() -> String {
    format!("http://{}", refused_addr())
}
