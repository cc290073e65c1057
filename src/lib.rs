//! proxyd: an edge reverse proxy for Linux, thread-per-core on io_uring, configured
//! like Traefik (entry points → routers → services).
//!
//! The crate is layered (lowest first: `runtime`, `net`, `router`, `middleware`,
//! `tls`, `config`, `control`, `observe`, `service`, `tcp`, `worker`, `http`,
//! `health`, `edge`, `app`; `docs/architecture.md`, "Layers", and `layering_tests`).
//! The life of a request runs top-down through it (see `docs/architecture.md`):
//! `config` turns files into an immutable [`config::Snapshot`], `control` publishes
//! snapshots, `edge` runs one thread and runtime per core with its own listeners,
//! `worker` holds what its connections share, `http` owns
//! the HTTP/1.1 codec, the server connection loop and the upstream client, `router`
//! matches requests to routers, and `service` picks upstream servers.

pub mod app;
pub mod config;
pub mod control;
pub mod edge;
#[cfg(test)]
mod fuzz_tests;
pub mod health;
pub mod http;
#[cfg(test)]
mod layering_tests;
pub mod middleware;
pub mod net;
pub mod observe;
pub mod router;
pub mod runtime;
pub mod service;
pub mod tcp;
pub mod tls;
pub mod worker;
