//! The framing conformance suite: raw request shapes (RFC 9112 and the published
//! request-smuggling research) sent to one shared proxyd, and raw upstream
//! response shapes played by a scripted origin. Every case states exactly what
//! the client gets (statuses, or a close), whether its connection closes, and
//! exactly what the upstream received (requests, method, target, body,
//! Content-Length / Transfer-Encoding / Host lines). After every case a
//! request from another client, on a fresh connection, must get its own
//! answer: nothing a case leaves behind may reach it.
//!
//! Tables live in `framing/`; this file runs them. One proxyd (one worker, so
//! the order of events is deterministic) and one upstream serve a whole
//! table, cases run one after another, and each case's requests carry the
//! case name in their path, so the upstream's records for one case are the
//! ones that arrived while it ran. A table reports every failing case, by
//! name, not only the first.

mod requests_chunked;
mod requests_length;
mod requests_syntax;
mod response_cases;
mod responses;

use std::time::Duration;

use crate::common::config::app;
use crate::common::upstream::Seen;
use crate::common::*;

/// How long a case waits for an answer or a close.
const CASE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a forwarded request's body was framed, as the upstream saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Neither Content-Length nor Transfer-Encoding.
    None,
    /// Exactly one `Content-Length` line with this value, no Transfer-Encoding.
    Length(&'static str),
    /// Exactly one `Transfer-Encoding: chunked` line, no Content-Length.
    Chunked,
}

/// One request as the upstream must receive it. `{ID}` in the target stands
/// for the case name.
#[derive(Clone, Copy, Debug)]
pub struct Fwd {
    pub method: &'static str,
    pub target: &'static str,
    pub body: &'static [u8],
    pub framing: Framing,
    /// The one `Host` line forwarded.
    pub host: &'static str,
    /// A header that must not be forwarded.
    pub absent: Option<&'static str>,
}

impl Fwd {
    pub const fn new(method: &'static str, target: &'static str) -> Fwd {
        Fwd {
            method,
            target,
            body: b"",
            framing: Framing::None,
            host: "app.test",
            absent: None,
        }
    }

    pub const fn body(mut self, body: &'static [u8], framing: Framing) -> Fwd {
        self.body = body;
        self.framing = framing;
        self
    }

    pub const fn host(mut self, host: &'static str) -> Fwd {
        self.host = host;
        self
    }

    pub const fn without(mut self, header: &'static str) -> Fwd {
        self.absent = Some(header);
        self
    }
}

/// `GET /{ID}`, no body.
pub const GET: Fwd = Fwd::new("GET", "/{ID}");

/// A request shape: raw bytes (`{ID}` replaced by the name) and the outcome.
#[derive(Clone, Copy, Debug)]
pub struct Req {
    pub name: &'static str,
    pub raw: &'static [u8],
    /// Final statuses the client reads, in order (interim 1xx are skipped).
    pub answers: &'static [u16],
    /// The proxy closes the connection after the answers; otherwise the
    /// suite sends one more request on it, which must be answered in order.
    pub closes: bool,
    /// Exactly the requests the upstream receives, in order.
    pub fwd: &'static [Fwd],
}

/// A shape that is forwarded as `fwd` and answered 200 on a kept connection.
pub const fn pass(name: &'static str, raw: &'static [u8], fwd: &'static [Fwd]) -> Req {
    let answers: &[u16] = match fwd.len() {
        1 => &[200],
        2 => &[200, 200],
        _ => &[200, 200, 200],
    };
    Req {
        name,
        raw,
        answers,
        closes: false,
        fwd,
    }
}

/// A shape refused with `status` and a close; nothing reaches the upstream.
pub const fn refuse(name: &'static str, raw: &'static [u8], status: u16) -> Req {
    let answers: &[u16] = match status {
        400 => &[400],
        431 => &[431],
        501 => &[501],
        505 => &[505],
        _ => panic!("add the status to refuse()"),
    };
    Req {
        name,
        raw,
        answers,
        closes: true,
        fwd: &[],
    }
}

fn with_id(bytes: &[u8], id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + id.len());
    let mut rest = bytes;
    while let Some(at) = find(rest, b"{ID}") {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(id.as_bytes());
        rest = &rest[at + 4..];
    }
    out.extend_from_slice(rest);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Runs every case of a table, in order, on one proxyd and one upstream
/// from `start`. After a failed case both are started afresh, so a case that
/// left a poisoned upstream connection behind fails alone and the cases after
/// it are still judged on their own. Panics listing every failed case.
pub fn run_table<C, E>(
    what: &str,
    table: &[C],
    name: impl Fn(&C) -> &'static str,
    start: impl Fn() -> E,
    run: impl Fn(&E, &C) -> Result<(), String>,
) {
    let mut names = std::collections::HashSet::new();
    let mut env = start();
    let mut failures = Vec::new();
    for case in table {
        assert!(
            names.insert(name(case)),
            "duplicate case name {}",
            name(case)
        );
        if let Err(e) = run(&env, case) {
            failures.push(format!("{}: {e}", name(case)));
            env = start();
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {what} shapes failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

/// Runs a request table against one proxyd and one echo upstream.
pub fn run_requests(table: &[Req]) {
    let start = || {
        let up = Upstream::echo("up");
        let cfg = ProxyConfig::new(&app(&[up.url()])).web(|e| e.max_header_bytes = Some(8192));
        (Proxy::start(&cfg), up)
    };
    run_table(
        "request",
        table,
        |c| c.name,
        start,
        |(p, up), c| run_request(p, up, c),
    );
}

fn run_request(p: &Proxy, up: &Upstream, case: &Req) -> Result<(), String> {
    let id = case.name;
    let before = up.requests().len();
    let raw = with_id(case.raw, id);
    let method = String::from_utf8_lossy(raw.split(|&b| b == b' ').next().unwrap_or(b"GET"));
    let mut c = Client::connect(p.addr());
    let _ = c.try_send(&raw);
    c.deadline(CASE_TIMEOUT);
    for (i, want) in case.answers.iter().enumerate() {
        let got = read_final(&mut c, &method).map_err(|e| format!("answer {i}: {e}"))?;
        if got.status != *want {
            return Err(format!(
                "answer {i}: status {} instead of {want}: {:?}",
                got.status,
                got.text().chars().take(160).collect::<String>()
            ));
        }
    }
    let mut fwd: Vec<Fwd> = case.fwd.to_vec();
    if case.closes {
        c.closed_within(CASE_TIMEOUT)
            .map_err(|e| format!("connection not closed: {e}"))?;
    } else {
        echo_answer(&mut c, &format!("/{id}/again"))
            .map_err(|e| format!("kept connection: {e}"))?;
        fwd.push(Fwd::new("GET", "/{ID}/again"));
    }
    let mut other = Client::connect(p.addr());
    other.deadline(CASE_TIMEOUT);
    echo_answer(&mut other, &format!("/{id}/after")).map_err(|e| format!("next client: {e}"))?;
    fwd.push(Fwd::new("GET", "/{ID}/after"));
    let seen = up.requests().split_off(before);
    check_forwarded(&seen, &fwd, id)
}

/// Reads responses until a final one.
fn read_final(c: &mut Client, method: &str) -> Result<client::Response, String> {
    for _ in 0..5 {
        let r = c.try_read_response(method).map_err(|e| e.to_string())?;
        if r.status >= 200 {
            return Ok(r);
        }
    }
    Err("more than 4 interim responses".into())
}

/// `GET target` on `c`, answered by the echo upstream for exactly that target.
fn echo_answer(c: &mut Client, target: &str) -> Result<(), String> {
    let _ = c.try_send(format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n\r\n").as_bytes());
    let r = read_final(c, "GET")?;
    let line = format!("request: GET {target} HTTP/1.1\n");
    if r.status != 200 || !r.text().contains(&line) {
        return Err(format!(
            "got {} {:?} instead of its own answer",
            r.status,
            r.text()
        ));
    }
    Ok(())
}

fn check_forwarded(seen: &[Seen], want: &[Fwd], id: &str) -> Result<(), String> {
    let list = || {
        seen.iter()
            .map(|s| format!("{} {}", s.method, s.target))
            .collect::<Vec<_>>()
    };
    if seen.len() != want.len() {
        return Err(format!(
            "upstream received {} requests {:?}, expected {}",
            seen.len(),
            list(),
            want.len()
        ));
    }
    for (i, (s, w)) in seen.iter().zip(want).enumerate() {
        check_one(s, w, id).map_err(|e| format!("upstream request {i} ({:?}): {e}", list()))?;
    }
    Ok(())
}

fn check_one(s: &Seen, w: &Fwd, id: &str) -> Result<(), String> {
    let target = w.target.replace("{ID}", id);
    let framing = (
        s.headers_named("content-length"),
        s.headers_named("transfer-encoding"),
    );
    let framing_ok = match w.framing {
        Framing::None => framing.0.is_empty() && framing.1.is_empty(),
        Framing::Length(n) => framing.0 == [n] && framing.1.is_empty(),
        Framing::Chunked => framing.0.is_empty() && framing.1 == ["chunked"],
    };
    let checks = [
        (s.method == w.method && s.target == target, "request line"),
        (s.body == w.body, "body"),
        (framing_ok, "Content-Length/Transfer-Encoding"),
        (s.headers_named("host") == [w.host], "Host"),
        (w.absent.is_none_or(|h| !s.has_header(h)), "dropped header"),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        None => Ok(()),
        Some((_, what)) => Err(format!(
            "{what} differs: got {} {} body {:?} headers {:?}; expected {w:?}",
            s.method,
            s.target,
            String::from_utf8_lossy(&s.body),
            s.headers
        )),
    }
}

#[test]
fn framing_request_length_shapes() {
    run_requests(requests_length::TABLE);
}

#[test]
fn framing_request_syntax_shapes() {
    run_requests(requests_syntax::TABLE);
}

#[test]
fn framing_request_chunked_shapes() {
    run_requests(requests_chunked::TABLE);
}

#[test]
fn framing_response_shapes() {
    responses::run(response_cases::TABLE);
}

#[test]
fn framing_suite_has_the_agreed_size() {
    let requests =
        requests_length::TABLE.len() + requests_syntax::TABLE.len() + requests_chunked::TABLE.len();
    assert!(requests >= 80, "{requests} request shapes");
    assert!(
        response_cases::TABLE.len() >= 30,
        "{} response shapes",
        response_cases::TABLE.len()
    );
}
