//! `sourceCriterion`: what groups requests into one source, as Traefik reads
//! it: the client address per an `ipStrategy`, the first value of a request
//! header (missing: the empty value), or the request's host. The key is hashed
//! with a per-table random seed, so a client cannot aim its keys at one set.

use std::hash::BuildHasher;

use crate::middleware::RequestInfo;
use crate::middleware::ip_strategy::IpStrategy;

#[derive(Debug)]
pub enum Source {
    Ip(IpStrategy),
    Header(String),
    Host,
}

impl Source {
    /// The hash of this request's source key.
    pub fn hash(&self, req: &RequestInfo<'_>, seed: &impl BuildHasher) -> u64 {
        match self {
            // No usable address (a short X-Forwarded-For): Traefik's empty key.
            Source::Ip(s) => seed.hash_one(s.client_ip(req)),
            Source::Header(name) => {
                let mut h = None;
                req.headers.any_value(name, &mut |v| {
                    h = Some(seed.hash_one(v));
                    true
                });
                h.unwrap_or_else(|| seed.hash_one(b"" as &[u8]))
            }
            Source::Host => seed.hash_one(req.host),
        }
    }
}
