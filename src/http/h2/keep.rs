//! An HTTP/2 request kept whole for another attempt decided on the
//! upstream's answer (`http::keep`): its DATA frames (or the body
//! forwardAuth read first) read into a spool as the client's data alone, so
//! that every attempt sends the same bytes with their length.

use super::stream::Stream;
use crate::http::body::{RelayError, Sink};
use crate::http::codec::{BodyKind, RequestHead};
use crate::http::downstream::Kept;
use crate::http::error::ProxyError;
use crate::http::keep::{Plan, spool_error};
use crate::http::server::ReqState;
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
        if head.body != BodyKind::None {
            // The body is kept as the client's data alone (no chunk framing):
            // every attempt sends it with its length (`write_request_head`).
            let mut spool = Spool::new(mem, max);
            if let Err(e) = self.spool_body(head, &mut spool).await {
                self.fail(Some(head), spool_error(e)).await;
                return false;
            }
            self.spool = Some(spool);
        }
        let len = self.spool.as_ref().map_or(0, Spool::len);
        self.kept = Kept {
            whole: true,
            status_retry: status_retry.is_some_and(|m| len <= m),
        };
        true
    }

    /// Reads the client's DATA frames (or the body forwardAuth read first)
    /// into `spool`.
    async fn spool_body(
        &mut self,
        head: &RequestHead,
        spool: &mut Spool,
    ) -> Result<u64, RelayError> {
        let read = match (self.body.take(), self.taken.take()) {
            (Some(body), _) => {
                self.req = ReqState::Broken;
                self.read_body(body, false, &mut SpoolSink(spool), None)
                    .await
            }
            // forwardAuth's `forwardBody` read it whole already.
            (None, Some(mut data)) => {
                let n = data.len();
                let sink = &mut SpoolSink(spool);
                sink.write(&mut data, n, None).await.map(|()| n as u64)
            }
            (None, None) => Ok(0),
        };
        if let Ok(n) = read {
            if head.body == BodyKind::Chunked {
                self.rec.req_bytes += n;
            }
            self.req = ReqState::Consumed;
        }
        read
    }
}
