//! The middleware chain: what runs between the router and the service, as
//! Traefik's `http.middlewares` define it. A chain is compiled with the snapshot
//! into plain data (an enum per middleware with its regexes and header sets
//! prepared), so running it needs no dynamic dispatch and, once a connection's
//! [`Edits`] buffers are warm, no allocation.
//!
//! Phases, in chain order:
//! - **request** ([`on_request`]): look at the request head and either go on or
//!   answer locally (a redirect, 401, 403, a CORS preflight), which stops the chain;
//! - **upstream**: the edits a request phase recorded in [`Edits`] (a new path,
//!   headers to set, add or remove) are applied where the upstream head is
//!   written (`http::forward`);
//! - **response**: response header edits recorded in the request phase are
//!   applied where the response head is written, proxied or local.
//!
//! Middlewares see the protocol-neutral [`RequestInfo`] (method, host, path,
//! query, headers, client address) and never a connection, so an HTTP/2 stream
//! can run the same chain.

use std::sync::Arc;

pub use crate::router::RequestInfo;

mod basic_auth;
pub mod buffering;
pub mod circuit_breaker;
pub mod compress;
pub mod content_type;
mod credential_cache;
mod digest_auth;
mod edits;
pub mod errors;
pub mod forward_auth;
mod go_url;
pub mod grpc_web;
mod headers;
mod htpasswd;
mod ip_allow;
pub mod ip_strategy;
pub mod limits;
mod pass_tls_client_cert;
mod path;
mod predicate;
mod redirect;
mod retry;
mod state;
pub mod status_set;
mod status_text;

pub use basic_auth::BasicAuth;
pub use buffering::Buffering;
pub use circuit_breaker::CircuitBreaker;
pub use content_type::ContentType;
pub use credential_cache::CredentialCache;
pub use digest_auth::DigestAuth;
#[cfg(test)]
pub use edits::test_head::apply_to_head;
pub use edits::{Answer, Edits, HeaderEdit, HeaderOp, drops, write_appended};
pub use errors::Errors;
pub use forward_auth::ForwardAuth;
pub use grpc_web::GrpcWeb;
pub use headers::{Cors, Custom, Headers, Secure};
pub use htpasswd::Secret;
pub use ip_allow::IpAllowList;
pub use limits::{InFlightReq, RateLimit};
pub use pass_tls_client_cert::{ClientCerts, DnOptions, InfoOptions, PassTlsClientCert};
pub use path::{AddPrefix, ReplacePath, ReplacePathRegex, StripPrefix, StripPrefixRegex};
pub use redirect::{RedirectRegex, RedirectScheme};
pub use retry::{Backoff, DEFAULT_MAX_REQUEST_BODY_BYTES, Retry};
pub use state::State;
pub use status_set::StatusSet;
pub use status_text::status_text;

/// One compiled middleware definition, as the snapshot holds it.
#[derive(Debug)]
pub struct MiddlewareDef {
    /// Qualified name, e.g. `strip-api@file`.
    pub name: String,
    pub kind: Middleware,
    /// A hash of everything the definition was compiled from (its raw
    /// configuration and the content of the files it reads): a worker keeps a
    /// middleware's state over a reload when name and fingerprint are the same.
    pub fingerprint: u64,
}

/// The middlewares proxyd runs. Each variant holds its configuration compiled
/// for the request path.
#[derive(Debug)]
pub enum Middleware {
    AddPrefix(AddPrefix),
    StripPrefix(StripPrefix),
    StripPrefixRegex(StripPrefixRegex),
    ReplacePath(ReplacePath),
    ReplacePathRegex(ReplacePathRegex),
    BasicAuth(BasicAuth),
    RedirectScheme(RedirectScheme),
    RedirectRegex(RedirectRegex),
    IpAllowList(IpAllowList),
    /// Traefik's deprecated name for ipAllowList (always 403).
    IpWhiteList(IpAllowList),
    Headers(Box<Headers>),
    ContentType(ContentType),
    DigestAuth(DigestAuth),
    PassTlsClientCert(PassTlsClientCert),
    RateLimit(RateLimit),
    InFlightReq(InFlightReq),
    Retry(Retry),
    ForwardAuth(Box<ForwardAuth>),
    Errors(Errors),
    CircuitBreaker(CircuitBreaker),
    Compress(Arc<compress::Compress>),
    Buffering(Arc<Buffering>),
    GrpcWeb(GrpcWeb),
}

impl Middleware {
    /// Traefik's type name, for logs and the API.
    pub fn type_name(&self) -> &'static str {
        match self {
            Middleware::AddPrefix(_) => "addPrefix",
            Middleware::StripPrefix(_) => "stripPrefix",
            Middleware::StripPrefixRegex(_) => "stripPrefixRegex",
            Middleware::ReplacePath(_) => "replacePath",
            Middleware::ReplacePathRegex(_) => "replacePathRegex",
            Middleware::BasicAuth(_) => "basicAuth",
            Middleware::RedirectScheme(_) => "redirectScheme",
            Middleware::RedirectRegex(_) => "redirectRegex",
            Middleware::IpAllowList(_) => "ipAllowList",
            Middleware::IpWhiteList(_) => "ipWhiteList",
            Middleware::Headers(_) => "headers",
            Middleware::ContentType(_) => "contentType",
            Middleware::DigestAuth(_) => "digestAuth",
            Middleware::PassTlsClientCert(_) => "passTLSClientCert",
            Middleware::RateLimit(_) => "rateLimit",
            Middleware::InFlightReq(_) => "inFlightReq",
            Middleware::Retry(_) => "retry",
            Middleware::ForwardAuth(_) => "forwardAuth",
            Middleware::Errors(_) => "errors",
            Middleware::CircuitBreaker(_) => "circuitBreaker",
            Middleware::Compress(_) => "compress",
            Middleware::Buffering(_) => "buffering",
            Middleware::GrpcWeb(_) => "grpcWeb",
        }
    }
}

/// A compiled chain: indices into `Snapshot::middlewares`, flattened (a `chain`
/// middleware contributes its members in order), entry-point middlewares first.
pub type Chain = Arc<[u32]>;

/// What the request phase decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on to the next middleware, then the service.
    Next,
    /// The answer is in [`Edits::answer`]: send it and skip the service.
    Answer,
    /// The middleware at this place needs an asynchronous call (forwardAuth's
    /// sub-request, rateLimit's Redis script or its hold until a token is
    /// due), which the protocol layer makes; the chain then resumes at the
    /// next place ([`run_from`]).
    Call(At),
}

/// A place in the chains [`run`] walks: which chain (0: the entry point's,
/// 1: the router's) and the index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    pub chain: u8,
    pub index: u32,
}

impl At {
    /// The place after this one.
    pub fn next(self) -> At {
        At {
            chain: self.chain,
            index: self.index + 1,
        }
    }
}

/// Runs the request phase of an entry point's chain, then a router's (outer to
/// inner), and puts the response edits in the order they apply. What every
/// protocol calls after routing.
pub fn run(
    defs: &[Arc<MiddlewareDef>],
    states: &[std::rc::Rc<State>],
    chains: [&[u32]; 2],
    req: &RequestInfo<'_>,
    edits: &mut Edits,
) -> Flow {
    run_from(defs, states, chains, req, edits, At::default())
}

/// [`run`] from a place (after a [`Flow::Call`] was made). The response
/// edits are put in order only once the chain is done or answered.
pub fn run_from(
    defs: &[Arc<MiddlewareDef>],
    states: &[std::rc::Rc<State>],
    chains: [&[u32]; 2],
    req: &RequestInfo<'_>,
    edits: &mut Edits,
    from: At,
) -> Flow {
    let mut flow = Flow::Next;
    for (c, chain) in chains.iter().enumerate().skip(from.chain as usize) {
        let skip = if c == from.chain as usize {
            from.index as usize
        } else {
            0
        };
        flow = on_request(defs, states, chain, skip, req, edits);
        if let Flow::Call(at) = &mut flow {
            at.chain = c as u8;
            return flow;
        }
        if flow == Flow::Answer {
            break;
        }
    }
    edits.finish_chain();
    flow
}

/// Runs the request phase of `chain` over `req` from its place `skip`,
/// recording edits. Stops at the first middleware that answers or needs a
/// call (its place is in [`Flow::Call`]). `states` is the worker's runtime
/// state, same indices as `defs`.
pub fn on_request(
    defs: &[Arc<MiddlewareDef>],
    states: &[std::rc::Rc<State>],
    chain: &[u32],
    skip: usize,
    req: &RequestInfo<'_>,
    edits: &mut Edits,
) -> Flow {
    for (index, &id) in chain.iter().enumerate().skip(skip) {
        edits.begin_middleware();
        let mut flow = match &defs[id as usize].kind {
            Middleware::AddPrefix(m) => m.apply(req, edits),
            Middleware::StripPrefix(m) => m.apply(req, edits),
            Middleware::StripPrefixRegex(m) => m.apply(req, edits),
            Middleware::ReplacePath(m) => m.apply(req, edits),
            Middleware::ReplacePathRegex(m) => m.apply(req, edits),
            Middleware::BasicAuth(m) => m.apply(req, edits, states[id as usize].credentials()),
            Middleware::RedirectScheme(m) => m.apply(req, edits),
            Middleware::RedirectRegex(m) => m.apply(req, edits),
            Middleware::IpAllowList(m) | Middleware::IpWhiteList(m) => m.apply(req, edits),
            Middleware::Headers(m) => m.apply(req, edits),
            Middleware::ContentType(m) => m.apply(edits),
            Middleware::DigestAuth(m) => m.apply(req, edits),
            Middleware::PassTlsClientCert(m) => m.apply(req, edits),
            // rateLimit.redis: the protocol layer calls the store.
            Middleware::RateLimit(m) if m.needs_call() => Flow::Call(At::default()),
            Middleware::RateLimit(m) => m.apply(req, edits),
            Middleware::InFlightReq(m) => m.apply(req, edits),
            Middleware::Retry(m) => m.apply(edits),
            Middleware::CircuitBreaker(m) => m.apply(edits),
            Middleware::Errors(_) => {
                edits.catch(id);
                Flow::Next
            }
            Middleware::ForwardAuth(_) => Flow::Call(At::default()),
            Middleware::Compress(m) => compress::apply(m, req, edits),
            Middleware::Buffering(m) => Buffering::apply(m, edits),
            Middleware::GrpcWeb(m) => m.apply(req, edits),
        };
        if let Flow::Call(at) = &mut flow {
            // The chain is set by `run_from`.
            at.index = index as u32;
        }
        if flow != Flow::Next {
            return flow;
        }
    }
    Flow::Next
}
