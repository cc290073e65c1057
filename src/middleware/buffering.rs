//! `buffering` (Traefik's, on vulcand/oxy's buffer): the whole request body is
//! read before the request goes upstream, in memory up to
//! `memRequestBodyBytes` and in an unlinked temporary file beyond it, and
//! refused with 413 past `maxRequestBodyBytes`. The upstream then gets it with
//! a Content-Length, and because it is kept whole it can be sent again to
//! another server when `retryExpression` says so.
//!
//! The request phase only records the definition in [`Edits`]; the HTTP/1.1
//! connection reads the body (`http/server/buffered.rs`, into an
//! `http::spool::Spool`) just before forwarding, and forwarding asks
//! [`Buffering::replay`] after a failed attempt.

use std::sync::Arc;

use super::{Edits, Flow};

pub mod expr;

/// oxy's memory threshold for bodies (1 MiB), Traefik's documented default.
pub const DEFAULT_MEM_BODY_BYTES: u64 = 1024 * 1024;
/// oxy replays a request at most this many times, whatever the expression says.
pub const MAX_RETRY_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct Buffering {
    /// Past it the request is answered 413; `None` is no limit (Traefik's 0).
    pub max_request_body_bytes: Option<u64>,
    /// Body bytes kept in memory; the rest goes to a temporary file.
    pub mem_request_body_bytes: u64,
    /// Past it the client gets a 500 instead of the response; `None`: no limit.
    pub max_response_body_bytes: Option<u64>,
    pub mem_response_body_bytes: u64,
    /// `retryExpression`, parsed.
    pub retry: Option<expr::Expr>,
}

impl Buffering {
    /// Records the definition for the connection. With two in one chain the
    /// first (outermost) one reads the body, so its limits count.
    pub fn apply(this: &Arc<Buffering>, edits: &mut Edits) -> Flow {
        if edits.buffering().is_none() {
            edits.set_buffering(this.clone());
        }
        Flow::Next
    }

    /// Whether attempt number `attempt` (the first is 1), which ended with
    /// `status`, is sent again: `retryExpression` says so, and oxy's cap on
    /// attempts is not reached.
    pub fn replay(&self, attempt: u32, status: u16) -> bool {
        let Some(e) = &self.retry else { return false };
        attempt <= MAX_RETRY_ATTEMPTS && e.eval(attempt, status)
    }
}
