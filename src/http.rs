//! HTTP/1.1: the codec, the server connection loop, and the upstream client and pool.

pub mod codec;
