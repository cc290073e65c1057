//! `ipAllowList` (and its deprecated alias `ipWhiteList`, which always refuses
//! with 403): requests whose client address, as the `ipStrategy` picks it, is
//! outside `sourceRange` are answered with the reject status and Go's text for
//! it as the body, as Traefik does.

use super::ip_strategy::{IpSet, IpStrategy};
use super::{Edits, Flow, RequestInfo};

#[derive(Debug)]
pub struct IpAllowList {
    pub source_range: IpSet,
    pub strategy: IpStrategy,
    /// A status Go has a text for (checked at load); 403 unless configured.
    pub reject_status: u16,
    /// Go's text for `reject_status`, the body of a refusal.
    pub reject_body: &'static str,
}

impl IpAllowList {
    pub fn apply(&self, req: &RequestInfo<'_>, edits: &mut Edits) -> Flow {
        match self.strategy.client_ip(req) {
            Some(ip) if self.source_range.contains(ip) => Flow::Next,
            _ => {
                edits.answer(self.reject_status, self.reject_body.as_bytes());
                Flow::Answer
            }
        }
    }
}
