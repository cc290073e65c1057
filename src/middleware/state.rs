//! What a middleware keeps on a worker between requests: the auth
//! middlewares' verified credentials, rateLimit.redis' connections. One per snapshot middleware, held by the
//! worker's view and carried over a reload that leaves the middleware's
//! definition (and the files it reads) unchanged.

use std::cell::RefCell;

use super::{CredentialCache, Middleware};

#[derive(Debug)]
pub enum State {
    /// The middleware needs nothing between requests.
    Stateless,
    Credentials(RefCell<CredentialCache>),
    /// This worker's connections to the store of a `rateLimit.redis`.
    Redis(crate::net::redis_cluster::Store),
}

impl State {
    pub fn new(kind: &Middleware) -> State {
        match kind {
            Middleware::BasicAuth(_) => State::Credentials(RefCell::default()),
            Middleware::RateLimit(m) => match &m.redis {
                Some(r) => State::Redis(crate::net::redis_cluster::Store::new(r.settings.clone())),
                None => State::Stateless,
            },
            _ => State::Stateless,
        }
    }

    pub fn credentials(&self) -> Option<&RefCell<CredentialCache>> {
        match self {
            State::Credentials(c) => Some(c),
            _ => None,
        }
    }

    pub fn redis(&self) -> Option<&crate::net::redis_cluster::Store> {
        match self {
            State::Redis(c) => Some(c),
            _ => None,
        }
    }
}
