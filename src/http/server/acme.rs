//! ACME http-01: `/.well-known/acme-challenge/<token>` on the `httpChallenge`
//! entry point is answered with the key authorization before routing, as
//! Traefik's challenge router (highest priority) does.

use super::{Conn, Outcome};
use crate::http::answer::Answer;
use crate::http::codec::RequestHead;
use crate::net::client_io::ClientIo;

impl<S: ClientIo> Conn<S> {
    /// `Some` when the request was a pending http-01 challenge and was answered.
    /// Costs one prefix comparison for every other request.
    pub(super) async fn acme_http01(&mut self, head: &RequestHead) -> Option<Outcome> {
        let path = head.path.get(&self.buf);
        if self.tls || !path.starts_with(crate::tls::acme::HTTP_CHALLENGE_PREFIX) {
            return None;
        }
        let key_auth = crate::tls::acme::http_answer(&self.ep.cfg.name, path)?;
        let close = self.local_must_close(head);
        self.out.clear();
        let a = Answer {
            status: 200,
            content_type: Some("text/plain; charset=utf-8"),
            headers: &[],
            body: key_auth.as_bytes(),
            no_store: false,
        };
        crate::http::answer::write_h1(&mut self.out, &a, &self.edits, close, head.is_head);
        Some(self.send_local(head, close).await)
    }
}
