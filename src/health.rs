//! Active health checks of load-balanced HTTP services
//! (`loadBalancer.healthCheck`): one prober thread for the whole process,
//! `proxyd-health`, with its own monoio runtime, so that the probe traffic does
//! not grow with the number of workers and no worker ever waits on a probe.
//!
//! The prober follows the published snapshot (`prober`), probes each server of
//! each service that has a health check with a small HTTP/1.1 client of its own
//! (`probe`, requests built by `target`), and writes the verdict into the
//! server's shared flag (`config::Health`), which every worker reads without a
//! lock when it picks a server. The control thread carries the flags across
//! reloads (`config::carry_health`). Beside it, `proxyd-dns` (`resolve`)
//! keeps the addresses of servers named by host names current.

mod grpc;
mod probe;
mod prober;
mod resolve;
mod target;

pub use prober::{Prober, start};
