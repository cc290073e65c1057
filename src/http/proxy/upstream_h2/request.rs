//! The upstream request as HTTP/2: the HTTP/1.1 head forwarding wrote (with
//! every rewrite and middleware edit) becomes the HEADERS of a stream (`Host`
//! becomes `:authority`, connection-specific fields are dropped, `te` only as
//! `trailers`), and the body goes out as DATA frames, its chunked framing
//! removed, each piece sent when the server's window has room.

use std::cell::RefCell;
use std::future::poll_fn;
use std::ops::Range;
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};

use crate::http::body::{RelayError, Sink};
use crate::http::codec::{ChunkError, ChunkedDecoder, MAX_HEADERS};
use crate::http::error::ProxyError;
use crate::middleware::grpc_web::codec::{BadBase64, Base64Decoder};
use crate::net::h2_body::h2_io_error;
use crate::runtime::io::{self as rio, IoFail};

/// Fields of one HTTP/1.1 connection, never sent on HTTP/2 (RFC 9113 §8.2.2).
const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// The request for an HTTP/2 stream, from the HTTP/1.1 head at the start of
/// `h1`; also where the head ends (an inlined body follows) and whether the
/// body was framed as chunked.
pub(super) fn build(h1: &[u8], scheme: &str) -> Result<(Request<()>, usize, bool), ProxyError> {
    let broken = ProxyError::Internal("upstream request head");
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS + 16];
    let mut parsed = httparse::Request::new(&mut fields);
    let Ok(httparse::Status::Complete(at)) = parsed.parse(h1) else {
        return Err(broken);
    };
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else {
        return Err(broken);
    };
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| broken)?;
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    let mut authority = None;
    let mut chunked = false;
    for f in parsed.headers.iter() {
        let name = HeaderName::from_bytes(f.name.as_bytes())
            .map_err(|_| ProxyError::BadRequest("field name"))?;
        if name == http::header::HOST {
            authority.get_or_insert(f.value);
        }
        if name == http::header::TRANSFER_ENCODING {
            chunked = true;
        }
        // As Go's transport: `te` goes on only as `trailers` (gRPC needs it).
        let te = name == http::header::TE;
        if CONNECTION_SPECIFIC.contains(&name.as_str())
            || (te && !f.value.eq_ignore_ascii_case(b"trailers"))
        {
            continue;
        }
        let value =
            HeaderValue::from_bytes(f.value).map_err(|_| ProxyError::BadRequest("field value"))?;
        headers.append(name, value);
    }
    let authority = authority.ok_or(ProxyError::BadRequest("no host"))?;
    let uri = Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|_| ProxyError::BadRequest("host or path not valid for HTTP/2"))?;
    let mut req = Request::new(());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    Ok((req, at, chunked))
}

/// Why a `grpcWeb` text-mode body was refused (400).
pub(super) const BASE64: &str = "grpc-web-text body is not valid base64";

/// The upstream stream as the destination of a request body.
pub(super) struct StreamSink<'a> {
    send: RefCell<&'a mut SendStream<Bytes>>,
    chunked: Option<ChunkedDecoder>,
    ranges: Vec<Range<usize>>,
    /// `grpcWeb`'s text mode: the body is base64, the upstream gets bytes.
    base64: Option<Base64Decoder>,
}

impl<'a> StreamSink<'a> {
    pub(super) fn new(send: &'a mut SendStream<Bytes>, chunked: bool, base64: bool) -> Self {
        Self {
            send: RefCell::new(send),
            chunked: chunked.then(ChunkedDecoder::new),
            ranges: Vec::new(),
            base64: base64.then(Base64Decoder::default),
        }
    }

    /// The body ended: whether it ended whole (a base64 body on a quantum).
    pub(super) fn finish(&self) -> Result<(), BadBase64> {
        self.base64.as_ref().map_or(Ok(()), Base64Decoder::finish)
    }

    /// One piece of the body as the upstream gets it.
    fn data(&mut self, piece: &[u8]) -> Result<Bytes, RelayError> {
        let Some(decoder) = &mut self.base64 else {
            return Ok(Bytes::copy_from_slice(piece));
        };
        let mut out = Vec::with_capacity(piece.len() / 4 * 3 + 3);
        decoder
            .feed(piece, &mut out)
            .map_err(|_| RelayError::Invalid(ChunkError(BASE64)))?;
        Ok(Bytes::from(out))
    }
}

impl Sink for StreamSink<'_> {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        let Some(decoder) = &mut self.chunked else {
            let data = self.data(&buf[..len])?;
            let send = self.send.get_mut();
            return sent(rio::until(deadline, send_data(send, data)).await);
        };
        self.ranges.clear();
        let ranges = &mut self.ranges;
        decoder
            .feed(&buf[..len], &mut |r| ranges.push(r))
            .map_err(RelayError::Invalid)?;
        for i in 0..self.ranges.len() {
            let data = self.data(&buf[self.ranges[i].clone()])?;
            let send = self.send.get_mut();
            sent(rio::until(deadline, send_data(send, data)).await)?;
        }
        Ok(())
    }

    fn watch(&self) -> impl Future<Output = ()> {
        // The server reset the stream: stop sending, go read its answer.
        poll_fn(|cx| self.send.borrow_mut().poll_reset(cx).map(|_| ()))
    }
}

fn sent(r: Result<Result<(), h2::Error>, IoFail>) -> Result<(), RelayError> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RelayError::Write(IoFail::Io(h2_io_error(e)))),
        Err(e) => Err(RelayError::Write(e)),
    }
}

/// Sends `data` as DATA frames as the server's window allows.
pub(super) async fn send_data(
    send: &mut SendStream<Bytes>,
    mut data: Bytes,
) -> Result<(), h2::Error> {
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let mut cap = send.capacity();
        while cap == 0 {
            cap = match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(r) => r?,
                None => return Err(h2::Error::from(h2::Reason::CANCEL)),
            };
        }
        let chunk = data.split_to(cap.min(data.len()));
        send.send_data(chunk, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_becomes_authority_and_hop_fields_go() {
        let h1 = b"POST /svc/M HTTP/1.1\r\nHost: up.test:81\r\nTE: trailers\r\n\
                   Transfer-Encoding: chunked\r\nConnection: x\r\nContent-Type: application/grpc\r\n\r\nrest";
        let (req, at, chunked) = super::build(h1, "http").unwrap();
        assert!(chunked);
        assert_eq!(&h1[at..], b"rest");
        assert_eq!(req.uri().to_string(), "http://up.test:81/svc/M");
        assert_eq!(req.method(), "POST");
        let names: Vec<&str> = req.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["te", "content-type"]);
    }

    #[test]
    fn te_other_than_trailers_is_dropped() {
        let h1 = b"GET / HTTP/1.1\r\nHost: h\r\nTE: gzip\r\n\r\n";
        let (req, _, chunked) = super::build(h1, "https").unwrap();
        assert!(!chunked && req.headers().is_empty());
        assert_eq!(req.uri().to_string(), "https://h/");
    }
}
