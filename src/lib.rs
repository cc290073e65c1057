//! proxyd: an edge reverse proxy for Linux, thread-per-core on io_uring, configured
//! like Traefik (entry points → routers → services).
//!
//! The crate is laid out after the life of a request (see `docs/architecture.md`):
//! `config` turns files into an immutable [`config::Snapshot`], `control` publishes
//! snapshots, `worker` runs one runtime per core with its own listeners, `http` owns
//! the HTTP/1.1 codec, the server connection loop and the upstream client, `router`
//! matches requests to routers, and `service` picks upstream servers.

pub mod app;
pub mod config;
pub mod control;
#[cfg(test)]
mod fuzz_tests;
pub mod http;
pub mod middleware;
pub mod observe;
pub mod router;
pub mod service;
pub mod tcp;
pub mod tls;
pub mod worker;
