//! A tiny raw HTTP/1.1 client: send exact bytes, read responses framed by
//! Content-Length, chunked or close, with a deadline on every read.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::io::{BufStream, Head, header, headers_named};
use super::{Fnv, IO_TIMEOUT};

#[derive(Clone, Debug, Default)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The response was framed with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    pub trailers: Vec<(String, String)>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        headers_named(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    /// Which echo upstream answered (`upstream: NAME` line), if any.
    pub fn upstream(&self) -> Option<String> {
        self.text()
            .lines()
            .find_map(|l| l.strip_prefix("upstream: ").map(str::to_string))
    }
}

pub struct Client {
    pub io: BufStream,
    pub addr: SocketAddr,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Client {
            io: BufStream::new(s),
            addr,
        }
    }

    /// Like [`Client::connect`], but a failure is returned, not a panic (load tests
    /// count failures instead of stopping at the first).
    pub fn try_connect(addr: SocketAddr) -> io::Result<Client> {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        Ok(Client {
            io: BufStream::new(s),
            addr,
        })
    }

    /// Connects from a given loopback source address (e.g. 127.0.0.2), to
    /// exercise `ClientIP` and trusted-IP rules.
    pub fn connect_from(source: IpAddr, addr: SocketAddr) -> Client {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.bind(&SocketAddr::new(source, 0).into())
            .unwrap_or_else(|e| panic!("bind {source}: {e}"));
        sock.connect_timeout(&addr.into(), IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr} from {source}: {e}"));
        Client {
            io: BufStream::new(sock.into()),
            addr,
        }
    }

    pub fn send(&mut self, data: &[u8]) {
        self.io
            .write_all(data)
            .unwrap_or_else(|e| panic!("write to proxy: {e}"));
    }

    pub fn try_send(&mut self, data: &[u8]) -> io::Result<()> {
        self.io.write_all(data)
    }

    /// Sends a request and reads its (final) response.
    pub fn request(&mut self, raw: &str) -> Response {
        self.send(raw.as_bytes());
        let method = raw.split(' ').next().unwrap_or("GET").to_string();
        self.read_final(&method)
    }

    /// Reads one response (interim ones included) to a GET-like request.
    pub fn read_response(&mut self) -> Response {
        self.try_read_response("GET")
            .unwrap_or_else(|e| panic!("reading response: {e}"))
    }

    /// Reads responses until a final (non-1xx) one.
    pub fn read_final(&mut self, method: &str) -> Response {
        for _ in 0..10 {
            let r = self
                .try_read_response(method)
                .unwrap_or_else(|e| panic!("reading response to {method}: {e}"));
            if r.status >= 200 || r.status == 101 {
                return r;
            }
        }
        panic!("more than 10 interim responses");
    }

    pub fn try_read_response(&mut self, method: &str) -> io::Result<Response> {
        let mut body = Vec::new();
        let mut r = self.read_response_streaming(method, &mut |d| body.extend_from_slice(d))?;
        r.body = body;
        Ok(r)
    }

    /// Reads one response, handing the body to `sink` piece by piece.
    pub fn read_response_streaming(
        &mut self,
        method: &str,
        sink: &mut dyn FnMut(&[u8]),
    ) -> io::Result<Response> {
        let raw = self.io.read_head()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            )
        })?;
        let head = Head::parse(&raw)?;
        let mut parts = head.start_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("").to_string();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| super::io::invalid(format!("bad status line {:?}", head.start_line)))?;
        let mut r = Response {
            version,
            status,
            reason: parts.next().unwrap_or("").to_string(),
            headers: head.headers.clone(),
            chunked: head.is_chunked(),
            ..Response::default()
        };
        if method == "HEAD" || status < 200 || status == 204 || status == 304 {
            return Ok(r);
        }
        if r.chunked {
            r.trailers = self.io.read_chunked_to(sink)?;
        } else if let Some(n) = head.content_length() {
            self.io.read_exact_to(n, sink)?;
        } else {
            self.io.read_to_close(sink)?;
        }
        Ok(r)
    }

    /// Sets an overall deadline for subsequent reads.
    pub fn deadline(&mut self, limit: Duration) {
        self.io.deadline = Some(Instant::now() + limit);
    }

    /// Whether the peer closes the connection (EOF or reset) within `limit`
    /// without sending anything more. Bytes that do arrive are returned as
    /// the error.
    pub fn closed_within(&mut self, limit: Duration) -> Result<(), String> {
        let saved = self.io.deadline;
        self.io.deadline = Some(Instant::now() + limit);
        let res = loop {
            if !self.io.buffered().is_empty() {
                break Err(format!(
                    "unexpected bytes: {:?}",
                    String::from_utf8_lossy(self.io.buffered())
                ));
            }
            match self.io.fill() {
                Ok(0) => break Ok(()),
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break Ok(()),
                Err(e) => break Err(format!("connection still open after {limit:?}: {e}")),
            }
        };
        self.io.deadline = saved;
        res
    }
}

/// One request on a fresh connection; returns the final response.
pub fn request(addr: SocketAddr, raw: &str) -> Response {
    Client::connect(addr).request(raw)
}

/// `GET path` with `Host: host` on a fresh connection.
pub fn get(addr: SocketAddr, host: &str, path: &str) -> Response {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    )
}

/// FNV-1a of a received body, for symmetry with the upstream.
pub fn fnv(body: &[u8]) -> u64 {
    Fnv::of(body)
}
