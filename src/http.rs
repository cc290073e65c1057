//! HTTP/1.1: the codec, the server connection loop, header rewriting, body relay,
//! and the upstream client with its per-worker pool.

pub mod answer;
pub mod auth_call;
pub mod body;
pub mod buffered;
pub mod codec;
pub mod compressing;
pub mod cookie;
pub mod downstream;
pub mod error;
pub mod error_page;
pub mod forward;
pub mod grpc_web;
pub mod h2;
pub mod keep;
pub mod proxy;
pub mod redirect;
pub mod server;
pub mod spool;
pub mod subrequest;
pub mod whoami;
