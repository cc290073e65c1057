//! Runs the upstream response shapes (`response_cases`): a scripted origin
//! plays each case's bytes for the request whose path names the case, and
//! answers every other request (`/{case}/again`, `/{case}/after`) with a
//! plain 200 whose body is its own path.

use std::collections::HashMap;

use crate::common::io::Head;
use crate::common::scripted::{ok, send};
use crate::common::*;

use super::CASE_TIMEOUT;

/// How much later than the response the `late` bytes are sent.
const LATE: std::time::Duration = std::time::Duration::from_millis(100);

/// What the client must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Got {
    /// A complete response with this status and exactly this body.
    Full(u16, &'static [u8]),
    /// This status, then the connection ends before the body is complete.
    Truncated(u16),
    /// Interim responses with these statuses, then `Full`.
    Interim(&'static [u16], u16, &'static [u8]),
}

/// How the client's response was framed (checked for `Full` answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Exactly one `Content-Length` line with this value, no Transfer-Encoding.
    Length(&'static str),
    /// `Transfer-Encoding: chunked`, no Content-Length.
    Chunked,
    /// No Transfer-Encoding (an HTTP/1.0 client gets the body de-chunked).
    Plain,
    /// Not checked (bodiless answers: HEAD, 204, 304, proxyd's own errors).
    Any,
}

/// One upstream response shape.
#[derive(Clone, Copy, Debug)]
pub struct Resp {
    pub name: &'static str,
    /// The client's request (`{ID}` is the case name).
    pub request: &'static [u8],
    /// What the origin sends, in order, for that request.
    pub sends: &'static [&'static [u8]],
    /// The origin closes its side after sending.
    pub then_close: bool,
    /// The origin pauses before its last send, so those bytes arrive after
    /// the proxy has seen a complete response.
    pub late: bool,
    /// The origin answers before reading the request body.
    pub early: bool,
    pub got: Got,
    pub frame: Frame,
    /// The proxy closes the client connection after the answer.
    pub closes: bool,
    /// The upstream connection must not be used again (bytes were left on it).
    pub no_reuse: bool,
    /// How many times the origin may see the request: a GET whose reused
    /// connection closes before any response byte is retried once.
    pub max_attempts: usize,
}

pub const GET: &[u8] = b"GET /{ID} HTTP/1.1\r\nHost: app.test\r\n\r\n";

/// A shape the proxy passes on: `got` with framing `frame`, client kept.
pub const fn passes(
    name: &'static str,
    sends: &'static [&'static [u8]],
    got: Got,
    frame: Frame,
) -> Resp {
    Resp {
        name,
        request: GET,
        sends,
        then_close: false,
        late: false,
        early: false,
        got,
        frame,
        closes: false,
        no_reuse: false,
        max_attempts: 1,
    }
}

/// A response the proxy refuses: the client gets a 502 and keeps its
/// connection; the upstream connection is not reused.
pub const fn bad_gateway(name: &'static str, sends: &'static [&'static [u8]]) -> Resp {
    Resp {
        name,
        request: GET,
        sends,
        then_close: false,
        late: false,
        early: false,
        got: Got::Full(502, b""),
        frame: Frame::Any,
        closes: false,
        no_reuse: true,
        max_attempts: 1,
    }
}

impl Resp {
    pub const fn close_after(mut self) -> Resp {
        self.then_close = true;
        self
    }

    pub const fn closes_client(mut self) -> Resp {
        self.closes = true;
        self
    }

    pub const fn no_reuse(mut self) -> Resp {
        self.no_reuse = true;
        self
    }

    pub const fn request(mut self, raw: &'static [u8]) -> Resp {
        self.request = raw;
        self
    }

    pub const fn late(mut self) -> Resp {
        self.late = true;
        self
    }

    pub const fn may_retry(mut self) -> Resp {
        self.max_attempts = 2;
        self
    }

    pub const fn early(mut self) -> Resp {
        self.early = true;
        self
    }
}

fn steps_for(case: &Resp) -> Vec<Step> {
    let mut steps: Vec<Step> = case.sends.iter().map(|b| send(b)).collect();
    if case.late && !steps.is_empty() {
        steps.insert(steps.len() - 1, Step::Pause(LATE));
    }
    if case.then_close {
        steps.push(Step::Close);
    }
    if case.early {
        // Present but never reached: it tells the origin not to read the
        // body before answering.
        steps.push(Step::Close);
        steps.push(Step::ReadBody);
    }
    steps
}

pub fn run(table: &'static [Resp]) {
    let start = || {
        let by_path: HashMap<String, Vec<Step>> = table
            .iter()
            .map(|c| (format!("/{}", c.name), steps_for(c)))
            .collect();
        let origin = Scripted::start(move |seen, _| match by_path.get(&seen.target) {
            Some(steps) => steps.clone(),
            None => vec![send(&ok(&seen.target))],
        });
        let cfg = ProxyConfig::new(&crate::common::config::app(&[origin.url()]));
        (Proxy::start(&cfg), origin)
    };
    super::run_table(
        "response",
        table,
        |c| c.name,
        start,
        |(p, o), c| run_one(p, o, c),
    );
}

fn run_one(p: &Proxy, origin: &Scripted, case: &Resp) -> Result<(), String> {
    let id = case.name;
    let before = origin.requests().len();
    let finished = origin.finished();
    let raw = super::with_id(case.request, id);
    let method = if raw.starts_with(b"HEAD ") {
        "HEAD"
    } else {
        "GET"
    };
    let mut c = Client::connect(p.addr());
    let _ = c.try_send(&raw);
    c.deadline(CASE_TIMEOUT);
    check_answer(&mut c, method, case)?;
    if !origin.wait_finished(finished + 1, CASE_TIMEOUT) {
        return Err("the origin's script never ended".into());
    }
    // Every byte the origin sends for this case (stray and late ones too) is
    // now on the upstream connection: the next requests must not get them.
    // (Bytes that arrive after the proxy has already sent the next request are
    // indistinguishable from its answer, for any proxy that reuses connections;
    // the origin writes its pieces one by one, so even "at once" ones can.)
    if case.closes {
        c.closed_within(CASE_TIMEOUT)
            .map_err(|e| format!("client connection not closed: {e}"))?;
    } else {
        own_answer(&mut c, &format!("/{id}/again")).map_err(|e| format!("kept connection: {e}"))?;
    }
    let mut other = Client::connect(p.addr());
    other.deadline(CASE_TIMEOUT);
    own_answer(&mut other, &format!("/{id}/after")).map_err(|e| format!("next client: {e}"))?;
    let seen = origin.requests().split_off(before);
    let mine: Vec<_> = seen
        .iter()
        .filter(|s| s.target == format!("/{id}"))
        .collect();
    if mine.is_empty() || mine.len() > case.max_attempts {
        return Err(format!(
            "origin received the case's request {} times",
            mine.len()
        ));
    }
    let after = seen.iter().find(|s| s.target.ends_with("/after"));
    if case.no_reuse && after.is_some_and(|a| a.conn == mine[0].conn) {
        return Err("the upstream connection was used again after a bad response".into());
    }
    Ok(())
}

fn check_answer(c: &mut Client, method: &str, case: &Resp) -> Result<(), String> {
    let (interim, status, body): (&[u16], u16, Option<&[u8]>) = match case.got {
        Got::Full(s, b) => (&[], s, Some(b)),
        Got::Truncated(s) => (&[], s, None),
        Got::Interim(i, s, b) => (i, s, Some(b)),
    };
    for want in interim {
        let (got, _) = read_head(c)?;
        if got != *want {
            return Err(format!("interim status {got} instead of {want}"));
        }
    }
    let (got_status, headers) = read_head(c)?;
    if got_status != status {
        return Err(format!("status {got_status} instead of {status}"));
    }
    let head = Head {
        start_line: String::new(),
        headers,
    };
    let bodyless = method == "HEAD" || status == 204 || status == 304;
    let read = if bodyless {
        Ok(Vec::new())
    } else {
        read_body(c, &head)
    };
    match (body, read) {
        (Some(want), Ok(got)) if status == 502 || got == want => check_frame(&head, case.frame),
        (Some(want), Ok(got)) => Err(format!(
            "body {:?} instead of {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want)
        )),
        (Some(_), Err(e)) => Err(format!("body not read: {e}")),
        (None, Ok(got)) => Err(format!(
            "complete body {:?}, expected a truncation",
            String::from_utf8_lossy(&got)
        )),
        (None, Err(_)) => Ok(()),
    }
}

/// The status and headers of the next response head.
fn read_head(c: &mut Client) -> Result<(u16, Vec<(String, String)>), String> {
    let raw =
        c.io.read_head()
            .map_err(|e| format!("reading head: {e}"))?
            .ok_or("connection closed before a response")?;
    let head = Head::parse(&raw).map_err(|e| e.to_string())?;
    let status = head
        .start_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {:?}", head.start_line))?;
    Ok((status, head.headers))
}

fn read_body(c: &mut Client, head: &Head) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut sink = |d: &[u8]| body.extend_from_slice(d);
    if head.is_chunked() {
        c.io.read_chunked_to(&mut sink)?;
    } else if let Some(n) = head.content_length() {
        c.io.read_exact_to(n, &mut sink)?;
    } else {
        c.io.read_to_close(&mut sink)?;
    }
    Ok(body)
}

fn check_frame(head: &Head, frame: Frame) -> Result<(), String> {
    let cl = crate::common::io::headers_named(&head.headers, "content-length");
    let te = crate::common::io::headers_named(&head.headers, "transfer-encoding");
    let ok = match frame {
        Frame::Any => true,
        Frame::Plain => te.is_empty(),
        Frame::Length(n) => cl == [n] && te.is_empty(),
        Frame::Chunked => cl.is_empty() && te == ["chunked"],
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "framing headers {:?}, expected {frame:?}",
        head.headers
    ))
}

/// `GET target` on `c`; the origin's plain answer names the target.
fn own_answer(c: &mut Client, target: &str) -> Result<(), String> {
    let _ = c.try_send(format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n\r\n").as_bytes());
    let r = c.try_read_response("GET").map_err(|e| e.to_string())?;
    if r.status != 200 || r.body != target.as_bytes() {
        return Err(format!(
            "got {} {:?} instead of its own answer",
            r.status,
            r.text()
        ));
    }
    Ok(())
}
