//! What the other middlewares arm on a request's `Edits` for the protocol
//! layer and the request's end: `buffering`, `grpcWeb`, `retry`, the
//! circuitBreakers and `errors` middlewares watching the response, the
//! inFlightReq places held and rateLimit's hold.

use super::Edits;

impl Edits {
    /// Arms `buffering` for this request (see `middleware::buffering`).
    pub fn set_buffering(&mut self, b: std::sync::Arc<crate::middleware::Buffering>) {
        self.buffering = Some(b);
    }

    pub fn buffering(&self) -> Option<&std::sync::Arc<crate::middleware::Buffering>> {
        self.buffering.as_ref()
    }

    /// Marks the request as gRPC-Web (see `middleware::grpc_web`).
    pub fn set_grpc_web(&mut self, m: crate::middleware::grpc_web::Mode) {
        self.grpc_web = Some(m);
    }

    pub fn grpc_web(&self) -> Option<crate::middleware::grpc_web::Mode> {
        self.grpc_web
    }

    /// Arms `retry` for this request (see `middleware::retry`).
    pub fn set_retry(&mut self, r: crate::middleware::Retry) {
        self.retry = Some(r);
    }

    pub fn retry(&self) -> Option<crate::middleware::Retry> {
        self.retry
    }

    /// A circuitBreaker measures this request's response.
    pub fn watch_breaker(
        &mut self,
        b: std::sync::Arc<crate::middleware::circuit_breaker::Breaker>,
    ) {
        self.breakers.push((b, std::time::Instant::now()));
    }

    /// The request ended with `status`: each breaker it passed records it.
    pub fn breakers_done(&mut self, status: u16) {
        for (b, started) in self.breakers.drain(..) {
            b.done(status, started);
        }
    }

    /// An `errors` middleware (snapshot id) watches this request's response.
    pub fn catch(&mut self, id: u32) {
        self.catchers.push(id);
    }

    /// The `errors` middlewares watching the response, outer first.
    pub fn catchers(&self) -> &[u32] {
        &self.catchers
    }

    /// Holds an inFlightReq place until the request ends (see [`Edits::clear`]).
    pub fn hold(&mut self, g: crate::middleware::limits::InFlightGuard) {
        self.held.push(g);
    }

    /// Holds the request for `d` before the rest of the chain (rateLimit).
    pub fn delay(&mut self, d: std::time::Duration) {
        self.delay = Some(d);
    }

    /// The hold a middleware asked for, once.
    pub fn take_delay(&mut self) -> Option<std::time::Duration> {
        self.delay.take()
    }

    /// The places held, moved out for what outlives the request (a tunnel).
    pub fn take_held(&mut self) -> crate::middleware::limits::Held {
        self.held.take()
    }
}
