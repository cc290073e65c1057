//! HTTP/1.1: the codec, the server connection loop, header rewriting, body relay,
//! and the upstream client with its per-worker pool.

pub mod body;
pub mod client_io;
pub mod codec;
pub mod error;
pub mod forward;
pub mod io;
pub mod panic;
pub mod peer;
pub mod proxy;
pub mod server;
pub mod tunnel;
pub mod upstream;
