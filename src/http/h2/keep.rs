//! An HTTP/2 request kept whole for another attempt decided on the
//! upstream's answer (`http::keep`): its DATA frames read into a spool, in
//! the framing the upstream request declares (chunked when the client gave
//! no length), so that every attempt sends the same bytes from it.

use super::stream::Stream;
use crate::http::codec::{BodyKind, RequestHead};
use crate::http::downstream::{Downstream, Kept};
use crate::http::error::ProxyError;
use crate::http::keep::{Plan, spool_error};
use crate::http::spool::{Spool, SpoolSink};

impl Stream {
    /// Keeps the request per `plan`; `false` when it could not be (413,
    /// 408, 400, 499 sent).
    pub(super) async fn keep_request(&mut self, head: &RequestHead, plan: Plan) -> bool {
        let (mem, max, status_retry) = match plan {
            Plan::Stream => return true,
            Plan::Refuse => {
                self.fail(Some(head), ProxyError::BodyTooLarge).await;
                return false;
            }
            Plan::Keep {
                mem,
                max,
                status_retry,
            } => (mem, max, status_retry),
        };
        // A body forwardAuth read first (`taken`) is kept already.
        if head.body != BodyKind::None && self.taken.is_none() {
            let mut spool = Spool::new(mem, max);
            let read = self.send_body(head, &mut SpoolSink(&mut spool), None).await;
            if let Err(e) = read {
                self.fail(Some(head), spool_error(e)).await;
                return false;
            }
            self.spool = Some(spool);
        }
        let len = (self.spool.as_ref().map(Spool::len))
            .or(self.taken.as_ref().map(|t| t.len() as u64))
            .unwrap_or(0);
        self.kept = Kept {
            whole: true,
            status_retry: status_retry.is_some_and(|m| len <= m),
        };
        true
    }
}
