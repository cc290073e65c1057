//! A bounded, allocation-light parser for the first flight of a TLS connection: it
//! finds the ClientHello's SNI and ALPN list without consuming anything, so the
//! bytes can be replayed to rustls or to a passthrough upstream untouched.
//!
//! It is a pure function over the bytes read so far. A ClientHello may be split
//! across several TLS records and across several reads; both are handled by
//! reassembling the handshake message from consecutive handshake records. Every
//! length is checked against what contains it, and the total is bounded by
//! [`MAX_HELLO_LEN`], so hostile input ends in `Malformed`, never a panic or an
//! unbounded wait for more bytes.

/// Largest ClientHello handshake message accepted (body, without its 4-byte header).
/// Real hellos are 200 B – 2 KiB (post-quantum key shares included).
pub const MAX_HELLO_LEN: usize = 16 * 1024;
/// TLS plaintext records carry at most 2^14 bytes.
const MAX_RECORD_LEN: usize = 16 * 1024;
/// Upper bound on the bytes a peek may need to buffer: the hello plus the record
/// headers of a hello split into (pathologically) one-byte records is refused
/// earlier, so this is the most a well-formed peek holds.
pub const MAX_PEEK_LEN: usize = MAX_HELLO_LEN + 4 + 5 * 8 + MAX_RECORD_LEN;
/// More records than this for one hello is an attack, not a client.
const MAX_RECORDS: usize = 8;

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;

/// What the bytes read so far are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peek {
    /// Could be a ClientHello; read more.
    Incomplete,
    /// Not TLS (the first byte is not a handshake record): plaintext.
    NotTls,
    /// A complete, well-formed ClientHello.
    Hello(ClientHello),
    /// Starts like TLS but is not a valid ClientHello: close the connection.
    Malformed(&'static str),
}

/// What routing needs from a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    /// The `host_name` server name, lowercased, trailing dot removed.
    pub sni: Option<String>,
    /// ALPN protocol names in the client's order.
    pub alpn: Vec<Vec<u8>>,
}

/// Parses the start of a connection.
pub fn peek(buf: &[u8]) -> Peek {
    match buf.first() {
        None => return Peek::Incomplete,
        Some(&CONTENT_HANDSHAKE) => {}
        Some(_) => return Peek::NotTls,
    }
    match reassemble(buf) {
        Ok(Some(msg)) => match parse_hello(&msg) {
            Ok(hello) => Peek::Hello(hello),
            Err(why) => Peek::Malformed(why),
        },
        Ok(None) => Peek::Incomplete,
        Err(why) => Peek::Malformed(why),
    }
}

/// Joins the handshake records into the ClientHello body; `None` if more bytes are
/// needed. Borrows when the hello sits in one record (the usual case).
fn reassemble(buf: &[u8]) -> Result<Option<std::borrow::Cow<'_, [u8]>>, &'static str> {
    let mut at = 0;
    let mut joined: Option<Vec<u8>> = None;
    let mut first: &[u8] = &[];
    for record in 0..MAX_RECORDS {
        let Some(header) = buf.get(at..at + 5) else {
            check_partial_header(&buf[at.min(buf.len())..])?;
            return Ok(None);
        };
        if header[0] != CONTENT_HANDSHAKE {
            return Err("non-handshake record inside the ClientHello");
        }
        if header[1] != 3 {
            return Err("unknown record version");
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if len == 0 || len > MAX_RECORD_LEN {
            return Err("bad record length");
        }
        let Some(body) = buf.get(at + 5..at + 5 + len) else {
            return Ok(None);
        };
        at += 5 + len;
        let so_far: &[u8] = match &mut joined {
            Some(v) => {
                v.extend_from_slice(body);
                v
            }
            None if record == 0 => {
                first = body;
                first
            }
            None => unreachable!("joined is set from the second record on"),
        };
        if so_far[0] != HANDSHAKE_CLIENT_HELLO {
            return Err("first handshake message is not a ClientHello");
        }
        if so_far.len() >= 4 {
            let msg_len =
                usize::from(so_far[1]) << 16 | usize::from(so_far[2]) << 8 | usize::from(so_far[3]);
            if msg_len > MAX_HELLO_LEN {
                return Err("ClientHello too large");
            }
            if so_far.len() >= 4 + msg_len {
                // Bytes past the hello in the same record (another handshake message
                // in the first flight) are not ours to judge.
                return Ok(Some(match joined {
                    Some(mut v) => {
                        v.truncate(4 + msg_len);
                        v.drain(..4);
                        std::borrow::Cow::Owned(v)
                    }
                    None => std::borrow::Cow::Borrowed(&first[4..4 + msg_len]),
                }));
            }
        }
        if joined.is_none() {
            joined = Some(first.to_vec());
        }
    }
    Err("ClientHello split into too many records")
}

/// Refuses what can already be told wrong from a partial record header.
fn check_partial_header(h: &[u8]) -> Result<(), &'static str> {
    match h {
        [t, ..] if *t != CONTENT_HANDSHAKE => Err("non-handshake record inside the ClientHello"),
        [_, v, ..] if *v != 3 => Err("unknown record version"),
        _ => Ok(()),
    }
}

/// A bounds-checked reader over a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.0.len() {
            return Err("truncated ClientHello");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one- or two-byte length prefix.
    fn vec8(&mut self) -> Result<Reader<'a>, &'static str> {
        let n = usize::from(self.u8()?);
        Ok(Reader(self.take(n)?))
    }

    fn vec16(&mut self) -> Result<Reader<'a>, &'static str> {
        let n = usize::from(self.u16()?);
        Ok(Reader(self.take(n)?))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses a ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).
fn parse_hello(body: &[u8]) -> Result<ClientHello, &'static str> {
    let mut r = Reader(body);
    let version = r.u16()?;
    if version >> 8 != 3 {
        return Err("unknown ClientHello version");
    }
    r.take(32)?; // random
    if r.vec8()?.0.len() > 32 {
        return Err("session id longer than 32 bytes");
    }
    let suites = r.vec16()?;
    if suites.0.is_empty() || suites.0.len() % 2 != 0 {
        return Err("bad cipher suite list");
    }
    if r.vec8()?.is_empty() {
        return Err("empty compression method list");
    }
    let mut hello = ClientHello::default();
    if r.is_empty() {
        return Ok(hello); // no extensions (old clients)
    }
    let mut exts = r.vec16()?;
    if !r.is_empty() {
        return Err("bytes after the extensions");
    }
    let (mut seen_sni, mut seen_alpn) = (false, false);
    while !exts.is_empty() {
        let kind = exts.u16()?;
        let mut data = exts.vec16()?;
        match kind {
            EXT_SERVER_NAME if seen_sni => return Err("duplicate server_name extension"),
            EXT_SERVER_NAME => {
                seen_sni = true;
                hello.sni = server_name(&mut data)?;
            }
            EXT_ALPN if seen_alpn => return Err("duplicate ALPN extension"),
            EXT_ALPN => {
                seen_alpn = true;
                hello.alpn = alpn(&mut data)?;
            }
            _ => {}
        }
    }
    Ok(hello)
}

fn server_name(data: &mut Reader<'_>) -> Result<Option<String>, &'static str> {
    let mut list = data.vec16()?;
    if !data.is_empty() || list.is_empty() {
        return Err("bad server_name extension");
    }
    let mut host = None;
    while !list.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?.0;
        if kind != 0 {
            continue; // unknown name types are skipped (RFC 6066 §3)
        }
        if host.is_some() {
            return Err("two host names in server_name");
        }
        host = Some(normalize_host(name)?);
    }
    Ok(host)
}

/// Lowercases and checks a DNS host name; a trailing dot is dropped.
fn normalize_host(name: &[u8]) -> Result<String, &'static str> {
    let name = name.strip_suffix(b".").unwrap_or(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*'));
    if !ok {
        return Err("invalid server name");
    }
    Ok(name
        .to_ascii_lowercase()
        .into_iter()
        .map(char::from)
        .collect())
}

fn alpn(data: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut list = data.vec16()?;
    if !data.is_empty() || list.is_empty() {
        return Err("bad ALPN extension");
    }
    let mut out = Vec::new();
    while !list.is_empty() {
        let proto = list.vec8()?.0;
        if proto.is_empty() {
            return Err("empty ALPN protocol name");
        }
        out.push(proto.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
#[path = "client_hello_tests.rs"]
mod tests;
