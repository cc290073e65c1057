//! Services: the per-worker state behind each configured service (load-balancer
//! cursor), the smooth weighted round robin, and the built-in responders.

pub mod balancer;
pub mod mirror;
pub mod respond;
pub mod status;
pub mod wrr;
