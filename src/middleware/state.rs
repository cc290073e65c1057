//! What a middleware keeps on a worker between requests (today: the auth
//! middlewares' verified credentials). One per snapshot middleware, held by the
//! worker's view and carried over a reload that leaves the middleware's
//! definition (and the files it reads) unchanged.

use std::cell::RefCell;

use super::{CredentialCache, Middleware};

#[derive(Debug)]
pub enum State {
    /// The middleware needs nothing between requests.
    Stateless,
    Credentials(RefCell<CredentialCache>),
}

impl State {
    pub fn new(kind: &Middleware) -> State {
        match kind {
            Middleware::BasicAuth(_) => State::Credentials(RefCell::default()),
            _ => State::Stateless,
        }
    }

    pub fn credentials(&self) -> Option<&RefCell<CredentialCache>> {
        match self {
            State::Credentials(c) => Some(c),
            State::Stateless => None,
        }
    }
}
