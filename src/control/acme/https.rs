//! A minimal blocking HTTPS/1.1 client for the ACME thread: one connection per
//! request (`Connection: close`), rustls over a std `TcpStream`, bodies framed
//! by Content-Length, chunked or the close. Blocking is fine here: this runs
//! on the ACME thread, never on a worker.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::AcmeError;
use crate::config::AcmeResolver;

/// Where the system's CA bundle is on Debian (`caSystemCertPool`).
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Responses larger than this are refused (certificate chains are a few KiB).
const MAX_RESPONSE: usize = 1 << 20;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let h = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name));
        h.map(|(_, v)| v.as_str())
    }
}

pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
    total: Duration,
    header: Duration,
}

impl Client {
    /// Trusts `caCertificates` (plus the system pool with `caSystemCertPool`),
    /// or the system pool alone when none is given, as Traefik does.
    pub fn new(r: &AcmeResolver) -> Result<Client, AcmeError> {
        let mut roots = rustls::RootCertStore::empty();
        let mut files = r.ca_certificates.clone();
        if files.is_empty() || r.ca_system_cert_pool {
            files.push(SYSTEM_BUNDLE.into());
        }
        for f in &files {
            let pem = std::fs::read(f)
                .map_err(|e| AcmeError::Setup(format!("cannot read {}: {e}", f.display())))?;
            for der in CertificateDer::pem_slice_iter(&pem).flatten() {
                let _ = roots.add(der);
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AcmeError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client {
            tls: Arc::new(tls),
            server_name: r.ca_server_name.clone(),
            total: r.client_timeout,
            header: r.client_response_header_timeout,
        })
    }

    /// One request; `body` is a JOSE JSON body (POST) or `None` (GET).
    pub fn request(&self, url: &str, body: Option<&[u8]>) -> Result<Response, AcmeError> {
        let (host, port, path) = split_url(url)?;
        let deadline = Instant::now() + self.total;
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| AcmeError::Http(format!("{url}: cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| AcmeError::Http(format!("{url}: {host} has no address")))?;
        let tcp = TcpStream::connect_timeout(&addr, self.header)
            .map_err(|e| AcmeError::Http(format!("{url}: connect: {e}")))?;
        tcp.set_read_timeout(Some(self.header)).ok();
        tcp.set_write_timeout(Some(self.header)).ok();
        let sni = self.server_name.clone().unwrap_or(host.clone());
        let name = ServerName::try_from(sni)
            .map_err(|e| AcmeError::Http(format!("{url}: bad server name: {e}")))?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), name)
            .map_err(|e| AcmeError::Http(format!("{url}: {e}")))?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut head = match body {
            Some(_) => format!("POST {path} HTTP/1.1\r\n"),
            None => format!("GET {path} HTTP/1.1\r\n"),
        };
        head.push_str(&format!(
            "Host: {host}:{port}\r\nUser-Agent: proxyd-acme\r\nConnection: close\r\n"
        ));
        if let Some(b) = body {
            head.push_str("Content-Type: application/jose+json\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let io = |e: std::io::Error| AcmeError::Http(format!("{url}: {e}"));
        s.write_all(head.as_bytes()).map_err(io)?;
        if let Some(b) = body {
            s.write_all(b).map_err(io)?;
        }
        s.flush().map_err(io)?;
        let raw = read_all(&mut s, deadline).map_err(io)?;
        parse(&raw).map_err(|why| AcmeError::Http(format!("{url}: {why}")))
    }
}

fn split_url(url: &str) -> Result<(String, u16, String), AcmeError> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| AcmeError::Http(format!("{url}: not an https URL")))?;
    let (auth, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let (host, port) = match auth.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || auth.starts_with('[') => (
            h,
            p.parse()
                .map_err(|_| AcmeError::Http(format!("{url}: bad port")))?,
        ),
        _ => (auth, 443),
    };
    Ok((
        host.trim_matches(['[', ']']).to_string(),
        port,
        path.to_string(),
    ))
}

/// Reads to the close (the request asked for it), within `deadline`.
fn read_all(s: &mut impl Read, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if Instant::now() > deadline || out.len() > MAX_RESPONSE {
            return Err(std::io::Error::other("response too slow or too large"));
        }
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A server that closes without close_notify after a framed body.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("truncated response head".into()),
        Err(e) => return Err(format!("bad response head: {e}")),
    };
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let status = resp.code.unwrap_or(0);
    let rest = &raw[n..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = match chunked {
        true => dechunk(rest)?,
        false => {
            let len = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok());
            match len {
                Some(l) if l > rest.len() => return Err("truncated body".into()),
                Some(l) => rest[..l].to_vec(),
                None => rest.to_vec(),
            }
        }
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memmem::find(b, b"\r\n").ok_or("truncated chunk size")?;
        let size = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size = size.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| "bad chunk size")?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_chunks() {
        let (h, p, path) = split_url("https://127.0.0.1:14000/dir").unwrap();
        assert_eq!((h.as_str(), p, path.as_str()), ("127.0.0.1", 14000, "/dir"));
        let (h, p, path) = split_url("https://acme.test").unwrap();
        assert_eq!((h.as_str(), p, path.as_str()), ("acme.test", 443, "/"));
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"abcde");
        let r =
            parse(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nLocation: x\r\n\r\nhi").unwrap();
        assert_eq!(
            (r.status, r.header("location"), &r.body[..]),
            (201, Some("x"), &b"hi"[..])
        );
    }
}
