//! Which I/O driver a worker runs on, and building its monoio runtime: io_uring when
//! the kernel offers it, epoll otherwise (auto-detected and logged, or forced).

use std::future::Future;
use std::io;

use monoio::time::TimeDriver;
use monoio::{IoUringDriver, LegacyDriver, Runtime, RuntimeBuilder};

use crate::config::IoDriver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Uring,
    Epoll,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Uring => "uring",
            Driver::Epoll => "epoll",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "ioDriver = \"uring\" was requested but io_uring is not available on this kernel (disabled, blocked by seccomp, or too old); use \"auto\" or \"epoll\""
)]
pub struct UringUnavailable;

/// Turns the configured choice into the driver every worker will use.
pub fn resolve(requested: IoDriver) -> Result<Driver, UringUnavailable> {
    let uring = monoio::utils::detect_uring();
    match requested {
        IoDriver::Epoll => Ok(Driver::Epoll),
        IoDriver::Uring if uring => Ok(Driver::Uring),
        IoDriver::Uring => Err(UringUnavailable),
        IoDriver::Auto if uring => Ok(Driver::Uring),
        IoDriver::Auto => {
            log::warn!("io_uring is not available: falling back to epoll");
            Ok(Driver::Epoll)
        }
    }
}

/// Builds the runtime for `driver` on the current thread and runs the future that
/// `make` builds (told the driver actually in use) to completion. An io_uring ring
/// that cannot be set up (e.g. RLIMIT_MEMLOCK too low on old kernels) falls back to
/// epoll when `fallback` allows it.
pub fn block_on<F: Future>(
    driver: Driver,
    ring_entries: u32,
    fallback: bool,
    make: impl FnOnce(Driver) -> F,
) -> io::Result<F::Output> {
    if driver == Driver::Uring {
        match uring_runtime(ring_entries) {
            Ok(mut rt) => return Ok(rt.block_on(make(Driver::Uring))),
            Err(e) if fallback => {
                log::warn!("io_uring ring setup failed ({e}): falling back to epoll");
            }
            Err(e) => return Err(e),
        }
    }
    let mut rt = RuntimeBuilder::<LegacyDriver>::new()
        .enable_timer()
        .build()?;
    Ok(rt.block_on(make(Driver::Epoll)))
}

/// An io_uring runtime with `ring_flags`, or without them where the kernel refuses.
fn uring_runtime(entries: u32) -> io::Result<Runtime<TimeDriver<IoUringDriver>>> {
    let build = |flags: Option<io_uring::Builder>| {
        let mut builder = RuntimeBuilder::<IoUringDriver>::new();
        if let Some(flags) = flags {
            builder = builder.uring_builder(flags);
        }
        builder.enable_timer().with_entries(entries).build()
    };
    build(Some(ring_flags())).or_else(|_| build(None))
}

/// Ring setup flags. COOP_TASKRUN lets the kernel run completion work when the
/// worker next enters the ring instead of interrupting it with an IPI, which on a
/// loaded worker cut proxyd's CPU per proxied request by about 18% (16.3 → 13.4 µs
/// on the 2-core dev VM). DEFER_TASKRUN measured the same and is riskier with
/// monoio, which sometimes submits without waiting. Kernels older than 5.19 refuse
/// the flags; `block_on` then builds a plain ring.
fn ring_flags() -> io_uring::Builder {
    let mut b = io_uring::IoUring::builder();
    b.setup_coop_taskrun().setup_taskrun_flag();
    b
}
