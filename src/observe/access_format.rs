//! Access-log lines, appended straight into the worker's buffer (no intermediate
//! `String`): Traefik's `common` format (CLF plus request count, router, server URL
//! and duration) and its `json` format with Traefik's field names, `fields` modes
//! (keep/drop per field, keep/drop/redact per request header) applied.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::config::observe::{AccessLogConfig, FieldMode};

mod time;
pub use time::rfc3339;
use time::{clf_time, rfc3339_into};

/// Everything one line can say, borrowed from the finished request.
pub struct Entry<'a> {
    pub client: SocketAddr,
    pub method: &'a [u8],
    pub target: &'a [u8],
    pub protocol: &'a str,
    pub host: &'a [u8],
    pub port: u16,
    pub entry_point: &'a str,
    pub router: &'a str,
    pub service: &'a str,
    pub service_url: &'a str,
    pub service_addr: Option<SocketAddr>,
    pub status: u16,
    pub origin_status: u16,
    pub resp_bytes: u64,
    pub req_bytes: u64,
    pub retries: u8,
    pub duration: Duration,
    pub start: SystemTime,
    pub count: u64,
    pub head: &'a HeadCopy,
}

impl Entry<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.head
            .fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

/// The request head as the access log needs it, copied when the request starts
/// (the request buffer moves on before the line is written): the request line's
/// parts and every header field, in order. Filled by whichever protocol parsed
/// the request; reused from request to request without allocating once warm.
#[derive(Default)]
pub struct HeadCopy {
    bytes: Vec<u8>,
    method: (u32, u32),
    target: (u32, u32),
    host: (u32, u32),
    protocol: &'static str,
    fields: Vec<((u32, u32), (u32, u32))>,
}

impl HeadCopy {
    /// Starts a new head with its request line (`protocol`: `HTTP/1.1` …).
    pub fn start(&mut self, method: &[u8], target: &[u8], host: &[u8], protocol: &'static str) {
        self.bytes.clear();
        self.fields.clear();
        self.protocol = protocol;
        self.method = self.put(method);
        self.target = self.put(target);
        self.host = self.put(host);
    }

    pub fn push_field(&mut self, name: &[u8], value: &[u8]) {
        let field = (self.put(name), self.put(value));
        self.fields.push(field);
    }

    fn put(&mut self, b: &[u8]) -> (u32, u32) {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(b);
        (start, self.bytes.len() as u32)
    }

    fn get(&self, (s, e): (u32, u32)) -> &[u8] {
        &self.bytes[s as usize..e as usize]
    }

    pub fn method(&self) -> &[u8] {
        self.get(self.method)
    }

    pub fn target(&self) -> &[u8] {
        self.get(self.target)
    }

    pub fn host(&self) -> &[u8] {
        self.get(self.host)
    }

    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// Header fields as (name, value), in the order received.
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields.iter().map(|&(n, v)| (self.get(n), self.get(v)))
    }
}

/// `ClientHost - - [10/Oct/2000:13:55:36 +0000] "GET /p HTTP/1.1" 200 12 "ref" "ua"
/// 3 "router@file" "http://10.0.0.1:80" 1ms`
pub fn common(out: &mut Vec<u8>, e: &Entry) {
    let _ = write!(out, "{} - - [", e.client.ip().to_canonical());
    clf_time(out, e.start);
    out.extend_from_slice(b"] \"");
    out.extend_from_slice(e.method);
    out.push(b' ');
    escaped(out, e.target);
    let _ = write!(out, " {}\" {} {} \"", e.protocol, e.status, e.resp_bytes);
    escaped_or_dash(out, e.header("Referer"));
    out.extend_from_slice(b"\" \"");
    escaped_or_dash(out, e.header("User-Agent"));
    let _ = write!(out, "\" {} \"", e.count);
    escaped_or_dash(out, Some(e.router.as_bytes()).filter(|r| !r.is_empty()));
    out.extend_from_slice(b"\" \"");
    escaped_or_dash(
        out,
        Some(e.service_url.as_bytes()).filter(|r| !r.is_empty()),
    );
    let _ = writeln!(out, "\" {}ms", e.duration.as_millis());
}

/// One JSON object per line, Traefik's field names.
pub fn json(out: &mut Vec<u8>, e: &Entry, cfg: &AccessLogConfig) {
    let mut j = Json {
        out,
        first: true,
        cfg,
    };
    j.out.push(b'{');
    // Formatted once and reused: the client address, and the start time that two
    // fields carry (the profile showed per-field formatting at ~10% of a request).
    let ip = crate::net::ip_text::IpText::new(e.client.ip().to_canonical());
    let mut start = [0u8; 30];
    let start_len = rfc3339_into(&mut start, e.start);
    let start = &start[..start_len];
    j.raw_field("ClientAddr", |o| {
        let v6 = ip.as_str().contains(':');
        if v6 {
            o.push(b'[');
        }
        o.extend_from_slice(ip.as_str().as_bytes());
        o.extend_from_slice(if v6 { b"]:" } else { b":" });
        o.extend_from_slice(itoa::Buffer::new().format(e.client.port()).as_bytes());
    });
    j.str("ClientHost", ip.as_str().as_bytes());
    j.num("ClientPort", e.client.port());
    j.str("ClientUsername", b"-");
    j.num("DownstreamContentSize", e.resp_bytes);
    j.num("DownstreamStatus", e.status);
    j.num("Duration", e.duration.as_nanos());
    if e.origin_status != 0 {
        j.num("OriginContentSize", e.resp_bytes);
        j.num("OriginStatus", e.origin_status);
    }
    j.str("RequestAddr", e.host);
    j.num("RequestContentSize", e.req_bytes);
    j.num("RequestCount", e.count);
    let host = e.host.rsplit_once_colon();
    j.str("RequestHost", host);
    j.str("RequestMethod", e.method);
    j.str("RequestPath", e.target);
    j.num("RequestPort", e.port);
    j.str("RequestProtocol", e.protocol.as_bytes());
    j.str("RequestScheme", b"http");
    j.num("RetryAttempts", e.retries);
    if !e.router.is_empty() {
        j.str("RouterName", e.router.as_bytes());
    }
    if let Some(addr) = e.service_addr {
        j.display("ServiceAddr", &addr);
    }
    if !e.service.is_empty() {
        j.str("ServiceName", e.service.as_bytes());
    }
    if !e.service_url.is_empty() {
        j.str("ServiceURL", e.service_url.as_bytes());
    }
    j.raw_field("StartLocal", |o| o.extend_from_slice(start));
    j.raw_field("StartUTC", |o| o.extend_from_slice(start));
    j.str("entryPointName", e.entry_point.as_bytes());
    if cfg.any_header() {
        for (name, value) in e.head.fields() {
            match cfg.header_mode(name) {
                FieldMode::Drop => {}
                FieldMode::Keep => j.header(name, value),
                FieldMode::Redact => j.header(name, b"REDACTED"),
            }
        }
    }
    // Traefik's logrus envelope.
    j.first_always("level", b"info");
    j.first_always("msg", b"");
    j.raw_always("time", |o| rfc3339(o, SystemTime::now()));
    j.out.extend_from_slice(b"}\n");
}

/// Host without its port.
trait HostPart {
    fn rsplit_once_colon(&self) -> &[u8];
}

impl HostPart for [u8] {
    fn rsplit_once_colon(&self) -> &[u8] {
        match memchr::memrchr(b':', self) {
            // Not inside an IPv6 literal.
            Some(i) if !self[i..].contains(&b']') => &self[..i],
            _ => self,
        }
    }
}

struct Json<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    cfg: &'a AccessLogConfig,
}

impl Json<'_> {
    /// Keys are our own ASCII field names: no escaping needed.
    fn key(&mut self, k: &[u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k);
        self.out.extend_from_slice(b"\":");
    }

    fn str(&mut self, k: &str, v: &[u8]) {
        if self.cfg.field_kept(k) {
            self.first_always(k, v);
        }
    }

    fn first_always(&mut self, k: &str, v: &[u8]) {
        self.key(k.as_bytes());
        self.out.push(b'"');
        escaped(self.out, v);
        self.out.push(b'"');
    }

    fn num(&mut self, k: &str, v: impl itoa::Integer) {
        if self.cfg.field_kept(k) {
            self.key(k.as_bytes());
            self.out
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
    }

    fn display(&mut self, k: &str, v: &dyn std::fmt::Display) {
        if self.cfg.field_kept(k) {
            self.key(k.as_bytes());
            let _ = write!(self.out, "\"{v}\"");
        }
    }

    fn raw_field(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) {
        if self.cfg.field_kept(k) {
            self.raw_always(k, f);
        }
    }

    fn raw_always(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) {
        self.key(k.as_bytes());
        self.out.push(b'"');
        f(self.out);
        self.out.push(b'"');
    }

    fn header(&mut self, name: &[u8], v: &[u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(b"\"request_");
        escaped(self.out, name);
        self.out.extend_from_slice(b"\":\"");
        escaped(self.out, v);
        self.out.push(b'"');
    }
}

/// JSON string escaping; also keeps CLF lines on one line. Valid UTF-8 (a path or
/// header in any script) is copied as it is; bytes that are not UTF-8 are written
/// as `\u00XX` so the line stays valid JSON.
fn escaped(out: &mut Vec<u8>, s: &[u8]) {
    // Most values need no escaping: copy them whole.
    if !s
        .iter()
        .any(|&b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\')
    {
        out.extend_from_slice(s);
        return;
    }
    for chunk in s.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0..0x20 | 0x7f => {
                    let _ = write!(out, "\\u{b:04x}");
                }
                // ASCII, or part of a valid multi-byte character.
                _ => out.push(b),
            }
        }
        for &b in chunk.invalid() {
            let _ = write!(out, "\\u{b:04x}");
        }
    }
}

fn escaped_or_dash(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) if !s.is_empty() => escaped(out, s),
        _ => out.push(b'-'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn civil_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(971_185_336);
        let mut out = Vec::new();
        clf_time(&mut out, t);
        assert_eq!(out, b"10/Oct/2000:13:42:16 +0000");
        out.clear();
        rfc3339(&mut out, UNIX_EPOCH + Duration::from_secs(1_709_251_199));
        assert_eq!(out, b"2024-02-29T23:59:59.000000000Z");
    }

    #[test]
    fn escapes_keep_one_line() {
        let mut out = Vec::new();
        escaped(&mut out, b"a\"b\n\xff");
        assert_eq!(out, b"a\\\"b\\n\\u00ff");
    }

    /// Regression: every byte >= 0x80 used to be written as `\u00XX`, which turned
    /// a UTF-8 path like `/caf\u{e9}` into mojibake in the JSON log.
    #[test]
    fn valid_utf8_is_kept_and_invalid_bytes_escaped() {
        let mut out = Vec::new();
        escaped(&mut out, "/café/日本\u{7f}".as_bytes());
        assert_eq!(String::from_utf8(out.clone()).unwrap(), "/café/日本\\u007f");
        out.clear();
        escaped(&mut out, b"ok\xc3(\xe6\x97");
        assert_eq!(out, b"ok\\u00c3(\\u00e6\\u0097");
        let line = format!("\"{}\"", String::from_utf8(out).unwrap());
        assert!(serde_json::from_str::<String>(&line).is_ok(), "{line}");
    }
}
