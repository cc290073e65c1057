//! `contentType` as Traefik v3 runs it. Traefik stops Go's `net/http` from
//! guessing a `Content-Type` for responses that lack one, on every entry
//! point; this middleware turns the guess back on for its routers. proxyd never
//! guesses, so the middleware asks for Go's guess ([`sniff::detect`]) over the
//! first body bytes of a proxied response that has no `Content-Type` (nor a
//! `Content-Encoding`) and a non-empty body. `autoDetect: false` is Traefik's
//! deprecated way to keep the guess off: the middleware then does nothing.

use super::{Edits, Flow};

pub mod sniff;

#[derive(Debug)]
pub struct ContentType {
    /// `autoDetect`, true unless set to false.
    pub auto_detect: bool,
}

impl ContentType {
    pub fn apply(&self, edits: &mut Edits) -> Flow {
        if self.auto_detect {
            edits.detect_content_type();
        }
        Flow::Next
    }
}
