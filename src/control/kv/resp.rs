//! A small blocking Redis client (RESP2) for the Redis provider: connect with
//! a timeout, `AUTH`, `SELECT`, commands and replies, and reading pushed
//! messages after `PSUBSCRIBE`. The provider needs a handful of commands on the
//! control side only, so this stays far smaller than a general client (see
//! docs/architecture.md, "KV providers").

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

use super::stream::Stream;
use crate::config::{KvProvider, KvTls};

/// Largest bulk string accepted (a value or a key); Redis' own limit is 512 MiB,
/// far beyond any configuration value.
const MAX_BULK: usize = 64 << 20;
/// Largest array accepted (a SCAN page or an MGET batch is far smaller).
const MAX_ARRAY: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn into_array(self) -> io::Result<Vec<Reply>> {
        match self {
            Reply::Array(Some(items)) => Ok(items),
            Reply::Array(None) => Ok(Vec::new()),
            other => Err(invalid(format!("expected an array, got {other:?}"))),
        }
    }

    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Reply::Bulk(b) => b,
            Reply::Simple(s) => Some(s.into_bytes()),
            _ => None,
        }
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

pub struct Conn {
    stream: BufReader<Stream>,
    endpoint: String,
}

impl Conn {
    /// Connects to the first endpoint that answers (with Sentinel: to the
    /// master the sentinels name), then authenticates and selects the
    /// database. `timeout` bounds each connect, read and write.
    pub fn connect(p: &KvProvider, timeout: Duration) -> io::Result<Conn> {
        if let Some(s) = &p.sentinel {
            let master = super::sentinel::master(p, s, timeout)?;
            return Self::connect_one(&master, p, timeout)
                .map_err(|e| io::Error::new(e.kind(), format!("master {master}: {e}")));
        }
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no endpoint");
        for endpoint in &p.endpoints {
            match Self::connect_one(endpoint, p, timeout) {
                Ok(c) => return Ok(c),
                Err(e) => last = io::Error::new(e.kind(), format!("{endpoint}: {e}")),
            }
        }
        Err(last)
    }

    fn connect_one(endpoint: &str, p: &KvProvider, timeout: Duration) -> io::Result<Conn> {
        let mut c = Conn::open(endpoint, p.tls.as_ref(), timeout)?;
        c.auth(p.username.as_deref(), p.password.as_deref())?;
        if p.db != 0 {
            c.call(&[b"SELECT", p.db.to_string().as_bytes()])?;
        }
        Ok(c)
    }

    /// A connection to `endpoint`, before any command.
    pub fn open(endpoint: &str, tls: Option<&KvTls>, timeout: Duration) -> io::Result<Conn> {
        let s = Stream::connect(endpoint, tls, timeout)?;
        Ok(Conn {
            stream: BufReader::new(s),
            endpoint: endpoint.to_string(),
        })
    }

    /// `AUTH` when a password is set (an ACL user with `username`).
    pub fn auth(&mut self, username: Option<&str>, password: Option<&str>) -> io::Result<()> {
        if let Some(password) = password {
            match username {
                Some(user) => self.call(&[b"AUTH", user.as_bytes(), password.as_bytes()])?,
                None => self.call(&[b"AUTH", password.as_bytes()])?,
            };
        }
        Ok(())
    }

    /// The `host:port` this connection went to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.stream.get_ref().tcp().set_read_timeout(t)
    }

    /// Sends one command and reads its reply; an error reply is an `Err`.
    pub fn call(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        self.send(args)?;
        self.read_reply()
    }

    pub fn send(&mut self, args: &[&[u8]]) -> io::Result<()> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        let s = self.stream.get_mut();
        s.write_all(&out)?;
        s.flush()
    }

    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Err(io::Error::other(format!("redis: {rest}"))),
            ":" => Ok(Reply::Int(parse_len(rest)?)),
            "$" => {
                let n = parse_len(rest)?;
                let Ok(n) = usize::try_from(n) else {
                    return Ok(Reply::Bulk(None));
                };
                if n > MAX_BULK {
                    return Err(invalid(format!("bulk string of {n} bytes")));
                }
                let mut buf = vec![0; n + 2];
                self.stream.read_exact(&mut buf)?;
                buf.truncate(n);
                Ok(Reply::Bulk(Some(buf)))
            }
            "*" => {
                let n = parse_len(rest)?;
                let Ok(n) = usize::try_from(n) else {
                    return Ok(Reply::Array(None));
                };
                if n > MAX_ARRAY {
                    return Err(invalid(format!("array of {n} items")));
                }
                let items = (0..n)
                    .map(|_| self.read_reply())
                    .collect::<io::Result<_>>()?;
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(invalid(format!("unexpected reply {line:?}"))),
        }
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        // Bounded: a reply line is a type byte and a number or a short status.
        let n = (&mut self.stream).take(4096).read_line(&mut line)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Err(invalid("empty reply line"));
        }
        Ok(line.to_string())
    }
}

fn parse_len(s: &str) -> io::Result<i64> {
    s.parse().map_err(|_| invalid(format!("bad number {s:?}")))
}

/// `s` as a glob pattern matching itself only (SCAN MATCH, PSUBSCRIBE).
pub fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
