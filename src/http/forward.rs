//! Header rewriting at the proxy boundary: the request head sent upstream (origin-form
//! target, regenerated Host and framing lines, hop-by-hop removal, `X-Forwarded-*` with
//! trust rules) and the response head sent to the client (no Content-Length beside
//! Transfer-Encoding). Both copy the original header bytes with targeted edits
//! into a reused output buffer: no header map, no allocation once warm. The
//! response side is `forward/response.rs`, the `Connection`-named headers
//! `forward/hop.rs`.

mod hop;
mod response;

use hop::{connection_tokens, is_named};
pub use response::{ResponseFraming, write_response_head};

use std::io::Write;

use crate::http::codec::{BodyKind, HeaderKind, HeaderSpan, RequestHead, classify};
use crate::middleware::{Edits, HeaderOp, drops};

/// What the request rewrite needs besides the parsed head.
pub struct Forwarding<'a> {
    /// `Some(authority)` replaces Host (passHostHeader = false).
    pub host_override: Option<&'a str>,
    /// The server's authority: the Host of a request that brought none (HTTP/1.0
    /// without Host), since the upstream request is HTTP/1.1 and must have one.
    pub default_host: &'a str,
    /// Server URL path, prepended to the request path.
    pub path_prefix: &'a str,
    /// The client address as text, formatted once per connection.
    pub client_ip: &'a str,
    /// Client is in `forwardedHeaders.trustedIPs` (or `insecure`): keep its X-Forwarded-*.
    pub trusted: bool,
    pub proto: &'static str,
    /// The entry point's port as text.
    pub port: &'a str,
    pub hostname: &'a str,
    /// Keep `Upgrade` and `Connection: upgrade` (WebSocket handshake).
    pub upgrade: bool,
    /// What the router's middlewares changed: path and headers.
    pub edits: &'a Edits,
}

/// Writes the upstream request head (request line, headers, blank line) into `out`.
///
/// Host and the framing headers are regenerated, never copied: `Host` is the
/// request's authority (an absolute-form target's wins over the client's Host
/// line, RFC 9112 §3.2.2) unless `passHostHeader = false`, and the body is
/// announced by exactly one `Content-Length: N` or `Transfer-Encoding: chunked`
/// line, so list forms and duplicates the codec accepted never reach the upstream.
pub fn write_request_head(
    out: &mut Vec<u8>,
    buf: &[u8],
    head: &RequestHead,
    headers: &[HeaderSpan],
    fw: &Forwarding<'_>,
) {
    out.clear();
    write_request_line(out, buf, head, fw);
    write_host(out, buf, head, fw);
    let named = connection_tokens(buf, headers);
    let mut present = Present::default();
    let mut framed = false;
    let edited = !fw.edits.is_empty();
    for h in headers {
        use HeaderKind::*;
        let keep = match h.kind {
            Host => false,
            // On an upgrade, `Connection: Upgrade` is written fresh after the loop.
            Connection => false,
            Upgrade => fw.upgrade,
            // As Go's ReverseProxy (so Traefik): `TE: trailers` goes on (gRPC).
            Te => h
                .value
                .get(buf)
                .trim_ascii()
                .eq_ignore_ascii_case(b"trailers"),
            KeepAlive | ProxyConnection | Trailer | ProxyAuthorization | ProxyAuthenticate
            | Expect => false,
            // Written last, merged with the client address.
            XForwardedFor => false,
            XForwardedProto | XForwardedHost | XForwardedPort | XForwardedServer
            | XForwardedOther | XRealIp => {
                if fw.trusted && h.kind != XForwardedServer {
                    present.mark(h.kind);
                }
                fw.trusted && h.kind != XForwardedServer
            }
            // Written once, where the first framing line was.
            ContentLength | TransferEncoding => {
                if !framed {
                    write_framing(out, head.body);
                    framed = true;
                }
                false
            }
            Other => !is_named(h.name.get(buf), buf, &named),
        };
        // A middleware's Set or Remove of this name replaces the client's fields.
        let keep = keep && !(edited && drops(fw.edits.request_edits(), h.name.get(buf)));
        if keep {
            put(out, h.name.get(buf), h.value.get(buf));
        }
    }
    if fw.upgrade {
        out.extend_from_slice(b"Connection: Upgrade\r\n");
    }
    if edited {
        write_request_edits(out, fw.edits, &mut present);
    }
    let _ = write_forwarded(out, buf, head, headers, fw, &present);
    out.extend_from_slice(b"\r\n");
}

/// The headers middlewares set or added, after the client's own. Host was
/// written first; X-Forwarded-For and X-Forwarded-Server stay the proxy's (a
/// set X-Forwarded-For is extended with the client address, like a trusted
/// chain); a set X-Forwarded-Proto/Host/Port or X-Real-Ip replaces the one the
/// proxy would generate.
fn write_request_edits(out: &mut Vec<u8>, edits: &Edits, present: &mut Present) {
    for (op, name, value) in edits.request_edits() {
        let kind = classify(name);
        if op == HeaderOp::Remove
            || matches!(
                kind,
                HeaderKind::Host | HeaderKind::XForwardedFor | HeaderKind::XForwardedServer
            )
        {
            continue;
        }
        present.mark(kind);
        put(out, name, value);
    }
}

/// The one `Host` line, first after the request line: the override, else the
/// request's authority, else (HTTP/1.0 without Host) the server's.
fn write_host(out: &mut Vec<u8>, buf: &[u8], head: &RequestHead, fw: &Forwarding<'_>) {
    let set = || {
        fw.edits
            .request_edits()
            .filter(|(op, n, _)| *op == HeaderOp::Set && n.eq_ignore_ascii_case(b"host"))
            .last()
            .map(|(_, _, v)| v)
    };
    let host = match fw.host_override {
        Some(a) => a.as_bytes(),
        None => match set() {
            Some(v) => v,
            None if head.host.is_empty() => fw.default_host.as_bytes(),
            None => head.host.get(buf),
        },
    };
    put(out, b"Host", host);
}

/// The request body's one framing line, from the parsed framing.
fn write_framing(out: &mut Vec<u8>, body: BodyKind) {
    match body {
        BodyKind::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        BodyKind::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        BodyKind::None | BodyKind::UntilClose => {}
    }
}

fn write_forwarded(
    out: &mut Vec<u8>,
    buf: &[u8],
    head: &RequestHead,
    headers: &[HeaderSpan],
    fw: &Forwarding<'_>,
    present: &Present,
) -> std::io::Result<()> {
    // A middleware that removes one of these (the headers middleware with an
    // empty value) keeps the proxy from generating it, as in Traefik.
    let removed = |name: &[u8]| {
        fw.edits
            .request_edits()
            .any(|(op, n, _)| op == HeaderOp::Remove && n.eq_ignore_ascii_case(name))
    };
    if !removed(b"x-forwarded-for") {
        write_xff(out, buf, headers, fw);
    }
    if !present.proto && !removed(b"x-forwarded-proto") {
        write!(out, "X-Forwarded-Proto: {}\r\n", fw.proto)?;
    }
    if !present.host && !head.host.is_empty() && !removed(b"x-forwarded-host") {
        put(out, b"X-Forwarded-Host", head.host.get(buf));
    }
    if !present.port && !removed(b"x-forwarded-port") {
        put(out, b"X-Forwarded-Port", fw.port.as_bytes());
    }
    if !removed(b"x-forwarded-server") {
        put(out, b"X-Forwarded-Server", fw.hostname.as_bytes());
    }
    if !present.real_ip && !removed(b"x-real-ip") {
        put(out, b"X-Real-Ip", fw.client_ip.as_bytes());
    }
    Ok(())
}

/// `X-Forwarded-For`: a trusted client's chain is kept (all its XFF headers, in
/// order) and extended with the address we saw; an untrusted one's is replaced
/// by that address. A value a middleware set comes first.
fn write_xff(out: &mut Vec<u8>, buf: &[u8], headers: &[HeaderSpan], fw: &Forwarding<'_>) {
    out.extend_from_slice(b"X-Forwarded-For: ");
    let set_xff = fw
        .edits
        .request_edits()
        .filter(|(op, n, _)| *op != HeaderOp::Remove && n.eq_ignore_ascii_case(b"x-forwarded-for"))
        .map(|(_, _, v)| v);
    for v in set_xff {
        out.extend_from_slice(v);
        out.extend_from_slice(b", ");
    }
    if fw.trusted && !drops(fw.edits.request_edits(), b"x-forwarded-for") {
        for h in headers
            .iter()
            .filter(|h| h.kind == HeaderKind::XForwardedFor)
        {
            out.extend_from_slice(h.value.get(buf));
            out.extend_from_slice(b", ");
        }
    }
    out.extend_from_slice(fw.client_ip.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[derive(Default)]
struct Present {
    proto: bool,
    host: bool,
    port: bool,
    real_ip: bool,
}

impl Present {
    fn mark(&mut self, kind: HeaderKind) {
        match kind {
            HeaderKind::XForwardedProto => self.proto = true,
            HeaderKind::XForwardedHost => self.host = true,
            HeaderKind::XForwardedPort => self.port = true,
            HeaderKind::XRealIp => self.real_ip = true,
            _ => {}
        }
    }
}

fn write_request_line(out: &mut Vec<u8>, buf: &[u8], head: &RequestHead, fw: &Forwarding<'_>) {
    let prefix = fw.path_prefix;
    out.extend_from_slice(head.method.get(buf));
    out.push(b' ');
    let path = fw.edits.path(head.path.get(buf));
    if path == b"*" {
        out.push(b'*');
    } else {
        out.extend_from_slice(prefix.as_bytes());
        if path.is_empty() {
            out.push(b'/');
        } else {
            out.extend_from_slice(path);
        }
        if !head.query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(head.query.get(buf));
        }
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
}

#[inline]
fn put(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

mod sniff;

#[cfg(test)]
mod tests;
