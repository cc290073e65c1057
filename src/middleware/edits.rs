//! What a chain's request phase leaves for the later phases: the path to send
//! upstream, header edits for the upstream request and for the response, and a
//! local answer. One `Edits` lives with each connection and is cleared per
//! request; its buffers are reused, so a warm connection allocates nothing.
//! What other middlewares arm on it for the protocol layer is
//! `edits/armed.rs`.

mod armed;

use std::ops::Range;

/// How a header edit changes the header list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOp {
    /// Replace every field of this name with one (Go's `Header.Set`).
    Set,
    /// Add a field, keeping those already there (`Header.Add`).
    Add,
    /// Remove every field of this name (`Header.Del`).
    Remove,
    /// One field: the first original value, `,` and this value, or just this
    /// value when there was none; the original as is when it already equals
    /// this value (how Traefik adds `Origin` to `Vary`).
    Append,
}

/// One header edit; name and value live in the edits' scratch buffer.
#[derive(Debug, Clone)]
pub struct HeaderEdit {
    pub op: HeaderOp,
    name: Range<u32>,
    value: Range<u32>,
}

/// A response made by a middleware (redirect, 401, 403, preflight). Its headers
/// are the response edits; its body is in the scratch buffer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    body: Range<u32>,
}

#[derive(Debug, Default)]
pub struct Edits {
    /// Names and values of header edits, answer bodies.
    scratch: Vec<u8>,
    /// The path to send upstream once a middleware rewrote it.
    path: Vec<u8>,
    path_set: bool,
    /// Where a path rewrite builds the next path (swapped with `path`).
    spare: Vec<u8>,
    request: Vec<HeaderEdit>,
    response: Vec<HeaderEdit>,
    /// Where each middleware's response edits start in `response`, in chain
    /// order (see [`Edits::finish_chain`]).
    groups: Vec<u32>,
    /// Where `finish_chain` builds the reordered list (swapped with `response`).
    reordered: Vec<HeaderEdit>,
    answer: Option<Answer>,
    /// `contentType`: guess a missing response Content-Type from the body.
    sniff: bool,
    /// inFlightReq places this request holds, given back when it is cleared.
    held: super::limits::Held,
    /// `retry`: how many attempts forwarding makes, and its backoff.
    retry: Option<super::Retry>,
    /// `errors` middlewares of the chain (ids, outer first) and what they
    /// need of the request once its head is gone (`http::server::errors`).
    catchers: Vec<u32>,
    pub saved: Vec<u8>,
    /// circuitBreakers this request passed, and when: told the outcome when
    /// the request ends ([`Edits::breakers_done`]).
    breakers: Vec<(
        std::sync::Arc<super::circuit_breaker::Breaker>,
        std::time::Instant,
    )>,
    /// `compress`: the encoding the request chose, and the middleware's rules.
    compression: Option<super::compress::Chosen>,
    /// `buffering`: the body is read whole before forwarding.
    buffering: Option<std::sync::Arc<super::Buffering>>,
    /// `rateLimit`: how long to hold the request before going on (its token
    /// is due within `maxDelay`); taken by the protocol layer at the call.
    delay: Option<std::time::Duration>,
    /// `grpcWeb`: the request is converted to gRPC, its response back.
    grpc_web: Option<super::grpc_web::Mode>,
}

impl Edits {
    /// Forgets the previous request's edits, keeping the buffers.
    pub fn clear(&mut self) {
        self.scratch.clear();
        self.path.clear();
        self.path_set = false;
        self.request.clear();
        self.response.clear();
        self.groups.clear();
        self.answer = None;
        self.sniff = false;
        self.held.clear();
        self.retry = None;
        self.catchers.clear();
        self.saved.clear();
        self.breakers.clear();
        self.compression = None;
        self.buffering = None;
        self.delay = None;
        self.grpc_web = None;
    }

    /// Records `compress`'s choice (see `middleware::compress`).
    pub fn set_compression(&mut self, c: super::compress::Chosen) {
        self.compression = Some(c);
    }

    pub fn compression(&self) -> Option<&super::compress::Chosen> {
        self.compression.as_ref()
    }

    /// Nothing to apply: the upstream and response heads go out as without a chain.
    pub fn is_empty(&self) -> bool {
        !self.path_set && self.request.is_empty() && self.response.is_empty() && !self.sniff
    }

    /// Whether a response made here needs the response edits applied.
    pub fn has_response_edits(&self) -> bool {
        !self.response.is_empty()
    }

    /// Asks for a missing response Content-Type to be guessed from the body.
    pub fn detect_content_type(&mut self) {
        self.sniff = true;
    }

    pub fn detects_content_type(&self) -> bool {
        self.sniff
    }

    /// The path as the chain has it so far: rewritten, or the request's own.
    pub fn path<'a>(&'a self, original: &'a [u8]) -> &'a [u8] {
        if self.path_set { &self.path } else { original }
    }

    /// The rewritten path, if a middleware rewrote it.
    pub fn rewritten_path(&self) -> Option<&[u8]> {
        self.path_set.then_some(&self.path[..])
    }

    /// Replaces the path with what `build` writes, given the current path.
    pub fn rewrite_path(&mut self, original: &[u8], build: impl FnOnce(&[u8], &mut Vec<u8>)) {
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        build(self.path(original), &mut next);
        self.spare = std::mem::replace(&mut self.path, next);
        self.path_set = true;
    }

    /// Records an edit of the upstream request's headers.
    pub fn request_header(&mut self, op: HeaderOp, name: &[u8], value: &[u8]) {
        let edit = self.edit(op, name, value);
        push_edit(&mut self.request, &self.scratch, edit);
    }

    /// Records an upstream request header whose value is the path as the chain
    /// has it so far (`X-Replaced-Path`), copied in place: no allocation.
    pub fn request_header_with_path(&mut self, op: HeaderOp, name: &[u8], original: &[u8]) {
        let name = self.store(name);
        let start = self.scratch.len() as u32;
        let path = if self.path_set {
            &self.path[..]
        } else {
            original
        };
        self.scratch.extend_from_slice(path);
        let value = start..self.scratch.len() as u32;
        push_edit(
            &mut self.request,
            &self.scratch,
            HeaderEdit { op, name, value },
        );
    }

    /// Records an edit of the response's headers (proxied or answered here).
    pub fn response_header(&mut self, op: HeaderOp, name: &[u8], value: &[u8]) {
        let edit = self.edit(op, name, value);
        let group = self.groups.last().map_or(0, |&g| g as usize);
        push_edit_from(&mut self.response, group, &self.scratch, edit);
    }

    /// The next middleware of the chain starts: its response edits form a
    /// group of their own.
    #[inline]
    pub fn begin_middleware(&mut self) {
        let at = self.response.len() as u32;
        if self.groups.last() != Some(&at) {
            self.groups.push(at);
        }
    }

    /// The whole chain ran (or one of its middlewares answered): puts the
    /// response edits in the order they apply. In Traefik each middleware wraps
    /// the next, so the response passes the innermost (last) middleware first
    /// and the outermost last: a later middleware's edits apply first, and an
    /// earlier one's Set of the same name wins. Within one middleware, edits
    /// keep their order.
    pub fn finish_chain(&mut self) {
        let groups = self
            .groups
            .iter()
            .filter(|&&g| (g as usize) < self.response.len());
        if groups.count() <= 1 {
            return;
        }
        let mut out = std::mem::take(&mut self.reordered);
        out.clear();
        let mut end = self.response.len();
        for &start in self.groups.iter().rev() {
            let start = start as usize;
            for e in &self.response[start..end] {
                push_edit_from(&mut out, 0, &self.scratch, e.clone());
            }
            end = start;
        }
        self.reordered = std::mem::replace(&mut self.response, out);
        self.groups.clear();
    }

    /// Records an upstream request header edit whose value `build` appends to
    /// the buffer it is given (built in place: no allocation once warm).
    pub fn request_header_built(
        &mut self,
        op: HeaderOp,
        name: &[u8],
        build: impl FnOnce(&mut Vec<u8>),
    ) {
        let name = self.store(name);
        let start = self.scratch.len() as u32;
        build(&mut self.scratch);
        let value = start..self.scratch.len() as u32;
        let edit = HeaderEdit { op, name, value };
        push_edit(&mut self.request, &self.scratch, edit);
    }

    /// Records a response header edit whose value is `parts` joined, built in
    /// place (a challenge with a fresh nonce, a sticky cookie): no allocation
    /// once warm.
    pub fn response_header_joined(&mut self, op: HeaderOp, name: &[u8], parts: &[&[u8]]) {
        let name = self.store(name);
        let start = self.scratch.len() as u32;
        for part in parts {
            self.scratch.extend_from_slice(part);
        }
        let value = start..self.scratch.len() as u32;
        let edit = HeaderEdit { op, name, value };
        let group = self.groups.last().map_or(0, |&g| g as usize);
        push_edit_from(&mut self.response, group, &self.scratch, edit);
    }

    /// Records a local answer; its headers are the response edits.
    pub fn answer(&mut self, status: u16, body: &[u8]) {
        let body = self.store(body);
        self.answer = Some(Answer { status, body });
    }

    pub fn answered(&self) -> Option<(u16, &[u8])> {
        self.answer.as_ref().map(|a| (a.status, self.get(&a.body)))
    }

    /// The upstream request edits as (op, name, value), in order.
    pub fn request_edits(&self) -> impl Iterator<Item = (HeaderOp, &[u8], &[u8])> {
        self.request.iter().map(|e| self.view(e))
    }

    /// The response edits as (op, name, value), in order.
    pub fn response_edits(&self) -> impl Iterator<Item = (HeaderOp, &[u8], &[u8])> {
        self.response.iter().map(|e| self.view(e))
    }

    fn edit(&mut self, op: HeaderOp, name: &[u8], value: &[u8]) -> HeaderEdit {
        let name = self.store(name);
        let value = self.store(value);
        HeaderEdit { op, name, value }
    }

    fn store(&mut self, bytes: &[u8]) -> Range<u32> {
        let start = self.scratch.len() as u32;
        self.scratch.extend_from_slice(bytes);
        start..self.scratch.len() as u32
    }

    fn get(&self, r: &Range<u32>) -> &[u8] {
        &self.scratch[r.start as usize..r.end as usize]
    }

    fn view<'a>(&'a self, e: &HeaderEdit) -> (HeaderOp, &'a [u8], &'a [u8]) {
        (e.op, self.get(&e.name), self.get(&e.value))
    }
}

/// Appends `edit`, first dropping earlier edits of the same name that a Set or
/// Remove overrides, so the list reads as the final state: originals of a name
/// with a Set or Remove are dropped, then every Set and Add is written in order.
fn push_edit(list: &mut Vec<HeaderEdit>, scratch: &[u8], edit: HeaderEdit) {
    push_edit_from(list, 0, scratch, edit);
}

/// [`push_edit`], overriding only edits at `from` and after (the current
/// middleware's own).
fn push_edit_from(list: &mut Vec<HeaderEdit>, from: usize, scratch: &[u8], edit: HeaderEdit) {
    if edit.op != HeaderOp::Add {
        let name = &scratch[edit.name.start as usize..edit.name.end as usize];
        let mut i = from;
        while i < list.len() {
            let e = &list[i];
            if scratch[e.name.start as usize..e.name.end as usize].eq_ignore_ascii_case(name) {
                list.remove(i);
            } else {
                i += 1;
            }
        }
    }
    list.push(edit);
}

/// Writes the line a [`HeaderOp::Append`] edit makes, given the first original
/// value of its name.
pub fn write_appended(out: &mut Vec<u8>, name: &[u8], first: Option<&[u8]>, value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    match first {
        Some(f) if f == value => {}
        Some(f) if !f.is_empty() => {
            out.extend_from_slice(f);
            out.push(b',');
        }
        _ => {}
    }
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Whether the original fields named `name` are dropped by these edits (a Set
/// or Remove of that name).
pub fn drops<'a>(
    mut edits: impl Iterator<Item = (HeaderOp, &'a [u8], &'a [u8])>,
    name: &[u8],
) -> bool {
    edits.any(|(op, n, _)| op != HeaderOp::Add && n.eq_ignore_ascii_case(name))
}

#[cfg(test)]
pub mod test_head;
#[cfg(test)]
mod tests;
