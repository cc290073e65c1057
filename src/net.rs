//! Transports, below any protocol: the client transport seam (`client_io`, plain
//! TCP, and TLS in `tls_stream`, whose departure watch is `tls_peer`, with the client's certificates: `client_certs`), peeking at a socket (`peer`), dialing and
//! pooling upstream connections (`upstream`, TLS to them in `upstream_tls`), the two-way byte copy of tunnels
//! and TCP routes (`tunnel`), addresses as text (`ip_text`), and
//! the async Redis client of rateLimit's shared buckets (`redis_client`, over the
//! sans-I/O RESP2 codec `resp`).

pub mod client_certs;
pub mod client_io;
pub mod h2_body;
pub mod ip_text;
pub mod peer;
pub mod redis_client;
pub mod redis_cluster;
pub mod resp;
pub mod tls_peer;
pub mod tls_stream;
pub mod tunnel;
pub mod upstream;
pub mod upstream_tls;
