//! The per-core runtime layer every other layer stands on: the coarse clock and
//! deadlines (`clock`), owned-buffer I/O with deadlines (`io`), the worker's
//! shutdown signal and the process phases (`shutdown`), the parking lot for quiet
//! connections (`parking`), process-wide connection limits (`limit`), heap
//! trimming (`memory`) and panic containment (`panic`). It depends on nothing
//! else in the crate.

pub mod clock;
pub mod io;
pub mod limit;
pub mod memory;
pub mod panic;
pub mod parking;
pub mod shutdown;
