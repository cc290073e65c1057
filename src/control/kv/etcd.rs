//! The etcd store through its JSON gateway (etcd's documented HTTP/JSON
//! mapping of the v3 gRPC API): `POST /v3/kv/range` reads every pair under
//! `rootKey/`, `POST /v3/watch` streams changes. Both are plain HTTP/1.1 with
//! base64 keys, so a small blocking client on the control side does, where a
//! gRPC client would bring an async runtime and code generation into the build
//! (docs/architecture.md, "KV providers").

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::stream::Stream;
use super::{Watch, connect_timeout};
use crate::config::{DEFAULT_KV_POLL_INTERVAL, KvProvider};

/// Largest range response read (a 10,000-router store is a few MiB).
const MAX_BODY: u64 = 256 << 20;

/// Every pair under `root/`.
pub fn read(p: &KvProvider) -> io::Result<Vec<(String, Vec<u8>)>> {
    let body = serde_json::json!(range(&p.root_key)).to_string();
    let (mut conn, token) = open(p)?;
    let reply = conn.post("/v3/kv/range", &body, token.as_deref())?;
    let doc: serde_json::Value =
        serde_json::from_slice(&reply).map_err(|e| invalid(format!("range reply: {e}")))?;
    let mut pairs = Vec::new();
    for kv in doc["kvs"].as_array().into_iter().flatten() {
        let key = decode(&kv["key"])?;
        let value = decode(&kv["value"])?;
        pairs.push((String::from_utf8_lossy(&key).into_owned(), value));
    }
    Ok(pairs)
}

/// Watches until stopped, reconnecting with backoff.
pub fn watch(p: &KvProvider, w: &Watch) {
    let mut backoff = w.backoff();
    while !w.stopped() {
        let started = Instant::now();
        match session(p, w) {
            Ok(()) => return,
            Err(e) => {
                w.down(&e.to_string());
                if started.elapsed() > super::BACKOFF_MAX {
                    backoff = w.backoff();
                }
                w.sleep(backoff.next());
            }
        }
    }
}

fn session(p: &KvProvider, w: &Watch) -> io::Result<()> {
    let (mut conn, token) = open(p)?;
    let body = serde_json::json!({ "create_request": range(&p.root_key) }).to_string();
    conn.request("/v3/watch", &body, token.as_deref())?;
    let (status, _, _) = conn.head()?;
    if status != 200 {
        return Err(io::Error::other(format!("/v3/watch: HTTP {status}")));
    }
    // Watching: what changed from now on is seen; what changed while we were
    // away is read now.
    w.up();
    w.changed();
    conn.0
        .get_ref()
        .tcp()
        .set_read_timeout(Some(super::STOP_CHECK))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut next_check = Instant::now() + DEFAULT_KV_POLL_INTERVAL;
    while !w.stopped() {
        if Instant::now() >= next_check {
            w.read_again_if_it_failed();
            next_check = Instant::now() + DEFAULT_KV_POLL_INTERVAL;
        }
        match conn.0.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            // One response per revision: a transaction is one, however many
            // keys it wrote. A response split over two reads may say "changed"
            // twice, which the throttle absorbs.
            Ok(n) if memchr::memmem::find(&buf[..n], b"\"events\"").is_some() => w.changed(),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `{key, range_end}` of every key under `root/` (the prefix's end: `/` + 1).
fn range(root: &str) -> serde_json::Value {
    serde_json::json!({
        "key": B64.encode(format!("{root}/")),
        "range_end": B64.encode(format!("{root}0")),
    })
}

fn decode(v: &serde_json::Value) -> io::Result<Vec<u8>> {
    B64.decode(v.as_str().unwrap_or(""))
        .map_err(|e| invalid(format!("base64: {e}")))
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Connects, and authenticates when a username is set (the token goes in the
/// `Authorization` header of the next requests).
fn open(p: &KvProvider) -> io::Result<(Http, Option<String>)> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no endpoint");
    for endpoint in &p.endpoints {
        match Http::connect(endpoint, p) {
            Ok(mut conn) => {
                let Some(user) = &p.username else {
                    return Ok((conn, None));
                };
                let body = serde_json::json!({
                    "name": user,
                    "password": p.password.as_deref().unwrap_or(""),
                })
                .to_string();
                let reply = conn.post("/v3/auth/authenticate", &body, None)?;
                let doc: serde_json::Value = serde_json::from_slice(&reply)
                    .map_err(|e| invalid(format!("authenticate reply: {e}")))?;
                let token = doc["token"].as_str().map(str::to_string);
                // A keep-alive connection serves the next request.
                return Ok((conn, token));
            }
            Err(e) => last = io::Error::new(e.kind(), format!("{endpoint}: {e}")),
        }
    }
    Err(last)
}

/// One HTTP/1.1 connection to the gateway.
struct Http(BufReader<Stream>, String);

impl Http {
    fn connect(endpoint: &str, p: &KvProvider) -> io::Result<Http> {
        let s = Stream::connect(endpoint, p.tls.as_ref(), connect_timeout())?;
        Ok(Http(BufReader::new(s), endpoint.to_string()))
    }

    fn request(&mut self, path: &str, body: &str, token: Option<&str>) -> io::Result<()> {
        let auth = token.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             {auth}Content-Length: {}\r\n\r\n",
            self.1,
            body.len()
        );
        let s = self.0.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body.as_bytes())?;
        s.flush()
    }

    /// A request and its whole (bounded) body.
    fn post(&mut self, path: &str, body: &str, token: Option<&str>) -> io::Result<Vec<u8>> {
        self.request(path, body, token)?;
        let (status, length, chunked) = self.head()?;
        let body = if chunked {
            self.chunked()?
        } else {
            let n = length.ok_or_else(|| invalid("response without length"))?;
            if n > MAX_BODY {
                return Err(invalid(format!("response of {n} bytes")));
            }
            let mut out = vec![0; n as usize];
            self.0.read_exact(&mut out)?;
            out
        };
        if status != 200 {
            let text = String::from_utf8_lossy(&body);
            return Err(io::Error::other(format!("{path}: HTTP {status}: {text}")));
        }
        Ok(body)
    }

    /// Status, Content-Length, and whether the body is chunked.
    fn head(&mut self) -> io::Result<(u16, Option<u64>, bool)> {
        let status_line = self.line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let (mut length, mut chunked) = (None, false);
        for _ in 0..100 {
            let line = self.line()?;
            if line.is_empty() {
                return Ok((status, length, chunked));
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        Err(invalid("too many header lines"))
    }

    fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let size = self.line()?;
            let size = size.split(';').next().unwrap_or("").trim();
            let n = u64::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {size:?}")))?;
            if n == 0 {
                self.line()?;
                return Ok(out);
            }
            if out.len() as u64 + n > MAX_BODY {
                return Err(invalid("response too large"));
            }
            let start = out.len();
            out.resize(start + n as usize, 0);
            self.0.read_exact(&mut out[start..])?;
            self.line()?;
        }
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        let n = (&mut self.0).take(8192).read_line(&mut line)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
