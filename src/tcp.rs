//! TCP routing's data path: a connection whose ClientHello (or client address)
//! matched a TCP router is forwarded as raw bytes to a server of its service
//! (`proxy`). The compiled routers and tables are config types
//! (`config::TcpConfig`); the accept path (`edge::dispatch`) asks them before HTTP
//! gets the connection, as Traefik's TCP routers take precedence over its HTTP
//! routers on a shared entry point.

pub mod proxy;
