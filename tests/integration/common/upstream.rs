//! Test upstreams: std-thread HTTP/1.1 servers on 127.0.0.1:0 that record
//! exactly what they received (request line, headers in order, body length
//! and FNV-1a checksum, computed while streaming) and answer according to a
//! [`Behavior`]. Keep-alive is supported; accepted connections are counted.

use std::fmt::Write as _;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::acceptor::Acceptor;
pub use super::behavior::{Behavior, Body, Framing};
use super::io::{BufStream, Head, header, headers_named};
use super::{Fnv, Pattern, poll_until};

/// Bodies up to this size are also kept verbatim in [`Seen::body`].
const KEEP_BODY: u64 = 1 << 20;

/// One complete request as the upstream received it.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// 1-based index of the connection it arrived on.
    pub conn: usize,
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    /// The request arrived with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    pub body_len: u64,
    pub body_fnv: u64,
    /// The body verbatim when it is at most 1 MiB.
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        headers_named(&self.headers, name)
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    pub fn request_line(&self) -> String {
        format!("{} {} {}", self.method, self.target, self.version)
    }
}

#[derive(Default)]
struct State {
    heads: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
    errors: Mutex<Vec<String>>,
}

pub struct Upstream {
    pub name: String,
    acceptor: Acceptor,
    state: Arc<State>,
}

impl Upstream {
    pub fn echo(name: &str) -> Upstream {
        Upstream::start(name, Behavior::echo())
    }

    pub fn start(name: &str, behavior: Behavior) -> Upstream {
        let state = Arc::new(State::default());
        let (st, nm) = (Arc::clone(&state), name.to_string());
        let acceptor = Acceptor::start(move |conn, id, _| {
            if let Err(e) = serve(conn, id, &nm, &behavior, &st) {
                st.errors.lock().unwrap().push(format!("conn {id}: {e}"));
            }
        });
        Upstream {
            name: name.to_string(),
            acceptor,
            state,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.acceptor.connections()
    }

    /// Request heads received so far (complete or not).
    pub fn heads(&self) -> usize {
        self.state.heads.load(Ordering::SeqCst)
    }

    /// Complete requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The only request received; panics if there were not exactly one.
    pub fn only_request(&self) -> Seen {
        let r = self.requests();
        assert_eq!(
            r.len(),
            1,
            "upstream {} saw {} requests: {r:#?}",
            self.name,
            r.len()
        );
        r.into_iter().next().unwrap()
    }

    /// Waits until at least `n` complete requests arrived.
    pub fn wait_requests(&self, n: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(5), || {
            (self.state.seen.lock().unwrap().len() >= n).then_some(())
        })
        .is_some()
    }

    /// Waits until at least `n` request heads arrived.
    pub fn wait_heads(&self, n: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(5), || {
            (self.heads() >= n).then_some(())
        })
        .is_some()
    }

    /// Protocol errors the upstream noticed (e.g. a malformed forwarded body).
    pub fn errors(&self) -> Vec<String> {
        self.state.errors.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, conn: usize, name: &str, b: &Behavior, st: &State) -> io::Result<()> {
    let mut io = BufStream::new(stream);
    // Pooled connections from the proxy may sit idle between tests' requests.
    io.io_timeout = Duration::from_secs(60);
    loop {
        let Some(raw) = io.read_head()? else {
            return Ok(());
        };
        st.heads.fetch_add(1, Ordering::SeqCst);
        let head = Head::parse(&raw)?;
        if b.close_without_response {
            return Ok(());
        }
        if b.reset_without_response {
            let _ = socket2::SockRef::from(&io.stream).set_linger(Some(Duration::ZERO));
            return Ok(());
        }
        let mut seen = seen_head(conn, &head);
        read_body(&mut io, &head, &mut seen)?;
        let close = head.connection_has("close")
            || (seen.version == "HTTP/1.0" && !head.connection_has("keep-alive"));
        let is_head = seen.method == "HEAD";
        let dump = echo_dump(name, &seen);
        st.seen.lock().unwrap().push(seen);

        if !b.delay.is_zero() {
            std::thread::sleep(b.delay);
        }
        if let Some(raw) = &b.raw {
            io.write_all(raw)?;
            return Ok(());
        }
        write_response(&mut io, b, &dump, is_head)?;
        if close || b.close_after_response || b.framing == Framing::UntilClose {
            let _ = io.stream.shutdown(std::net::Shutdown::Write);
            return Ok(());
        }
    }
}

/// The request line and headers of `head`, as a [`Seen`] with no body yet.
pub fn seen_head(conn: usize, head: &Head) -> Seen {
    let mut parts = head.start_line.splitn(3, ' ');
    Seen {
        conn,
        method: parts.next().unwrap_or("").to_string(),
        target: parts.next().unwrap_or("").to_string(),
        version: parts.next().unwrap_or("").to_string(),
        headers: head.headers.clone(),
        chunked: head.is_chunked(),
        ..Seen::default()
    }
}

/// Reads the body `head` announces into `seen` (length, checksum, bytes).
pub fn read_body(io: &mut BufStream, head: &Head, seen: &mut Seen) -> io::Result<()> {
    let mut fnv = Fnv::default();
    let mut len = 0u64;
    let mut kept = Vec::new();
    let mut sink = |d: &[u8]| {
        fnv.update(d);
        len += d.len() as u64;
        if len <= KEEP_BODY {
            kept.extend_from_slice(d);
        }
    };
    if seen.chunked {
        seen.trailers = io.read_chunked_to(&mut sink)?;
    } else if let Some(cl) = head.content_length() {
        io.read_exact_to(cl, &mut sink)?;
    }
    seen.body_len = len;
    seen.body_fnv = fnv.0;
    seen.body = kept;
    Ok(())
}

fn write_response(io: &mut BufStream, b: &Behavior, dump: &str, is_head: bool) -> io::Result<()> {
    if let Some(s) = b.interim {
        io.write_all(
            format!("HTTP/1.1 {s} Interim\r\nLink: </style.css>; rel=preload\r\n\r\n").as_bytes(),
        )?;
    }
    let no_body = is_head || b.status == 204 || b.status == 304 || b.status < 200;
    let pieces: Vec<Vec<u8>> = match &b.body {
        Body::Echo => vec![dump.as_bytes().to_vec()],
        Body::Fixed(v) => vec![v.clone()],
        Body::Chunks(c) => c.clone(),
        Body::Pattern(_) => Vec::new(),
    };
    let total: u64 = match &b.body {
        Body::Pattern(n) => *n,
        _ => pieces.iter().map(|p| p.len() as u64).sum(),
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", b.status, reason(b.status));
    for (n, v) in &b.headers {
        let _ = write!(head, "{n}: {v}\r\n");
    }
    if b.status != 204 && b.status != 304 && b.status >= 200 {
        match b.framing {
            Framing::Length => {
                let _ = write!(head, "Content-Length: {total}\r\n");
            }
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
            Framing::UntilClose => head.push_str("Connection: close\r\n"),
        }
    }
    head.push_str("\r\n");
    io.write_all(head.as_bytes())?;
    if no_body {
        return Ok(());
    }
    let chunked = b.framing == Framing::Chunked;
    let emit = |io: &mut BufStream, piece: &[u8]| -> io::Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        if chunked {
            io.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            io.write_all(piece)?;
            io.write_all(b"\r\n")
        } else {
            io.write_all(piece)
        }
    };
    if let Body::Pattern(n) = &b.body {
        let mut p = Pattern::new(*n);
        while let Some(c) = p.next_chunk() {
            emit(io, c)?;
        }
    } else {
        for p in &pieces {
            emit(io, p)?;
        }
    }
    if chunked {
        io.write_all(b"0\r\n\r\n")?;
    }
    Ok(())
}

/// The echo body: one fact per line, so tests can `contains()` on it.
pub fn echo_dump(name: &str, s: &Seen) -> String {
    let mut out = format!(
        "upstream: {name}\nconn: {}\nrequest: {} {} {}\n",
        s.conn, s.method, s.target, s.version
    );
    for (n, v) in &s.headers {
        let _ = writeln!(out, "header: {n}: {v}");
    }
    let _ = write!(
        out,
        "body-len: {}\nbody-fnv: {:016x}\n",
        s.body_len, s.body_fnv
    );
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        103 => "Early Hints",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}
