//! One connection of the frame server: frames read and answered on one
//! thread, streams answered as their plans say, response bodies sent under
//! the peer's windows.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Action, Plan, Script, Seen, Settings};
use crate::common::Fnv;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const REFUSED_STREAM: u32 = 0x7;
const INTERNAL_ERROR: u32 = 0x2;
/// What this server lets a peer send ahead, per stream and per connection.
const RECV_WINDOW: u32 = 1 << 20;
const MAX_FRAME: usize = 16384;

struct Stream {
    plan: Plan,
    /// When the request ended (END_STREAM), if it did.
    ended: Option<Instant>,
    body_len: u64,
    body_fnv: Fnv,
    /// The peer's window for what this server sends on the stream.
    window: i64,
    /// A response body still to send: (bytes sent, length).
    sending: Option<(u64, u64)>,
}

pub(super) struct Conn {
    tcp: TcpStream,
    number: usize,
    settings: Settings,
    seen: Arc<Mutex<Seen>>,
    script: Arc<Script>,
    buf: Vec<u8>,
    streams: HashMap<u32, Stream>,
    ordinal: usize,
    conn_window: i64,
    initial_window: i64,
    /// The pattern's bytes from offset 0, long enough for a frame from any offset.
    block: Vec<u8>,
}

impl Conn {
    pub(super) fn new(
        tcp: TcpStream,
        number: usize,
        settings: Settings,
        seen: Arc<Mutex<Seen>>,
        script: Arc<Script>,
    ) -> Conn {
        Conn {
            tcp,
            number,
            settings,
            seen,
            script,
            buf: Vec::new(),
            streams: HashMap::new(),
            ordinal: 0,
            conn_window: 65535,
            initial_window: 65535,
            block: (0..MAX_FRAME + 251).map(|i| (i % 251) as u8).collect(),
        }
    }

    pub(super) fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        self.tcp.set_nodelay(true)?;
        self.tcp.set_read_timeout(Some(Duration::from_millis(2)))?;
        let mut out = Vec::new();
        let mut settings = Vec::new();
        if let Some(n) = self.settings.max_concurrent_streams {
            settings.extend_from_slice(&3u16.to_be_bytes());
            settings.extend_from_slice(&n.to_be_bytes());
        }
        settings.extend_from_slice(&4u16.to_be_bytes());
        settings.extend_from_slice(&RECV_WINDOW.to_be_bytes());
        frame(&mut out, SETTINGS, 0, 0, &settings);
        frame(
            &mut out,
            WINDOW_UPDATE,
            0,
            0,
            &(RECV_WINDOW - 65535).to_be_bytes(),
        );
        self.tcp.write_all(&out)?;
        let mut preface_seen = false;
        while !stop.load(Ordering::SeqCst) {
            let mut chunk = [0u8; 65536];
            match self.tcp.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
            if !preface_seen {
                if self.buf.len() < PREFACE.len() {
                    continue;
                }
                assert_eq!(&self.buf[..PREFACE.len()], PREFACE);
                self.buf.drain(..PREFACE.len());
                preface_seen = true;
            }
            self.frames()?;
            self.answer()?;
        }
        Ok(())
    }

    /// Handles every complete frame read so far.
    fn frames(&mut self) -> io::Result<()> {
        while self.buf.len() >= 9 {
            let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
            if self.buf.len() < 9 + len {
                break;
            }
            let (kind, flags) = (self.buf[3], self.buf[4]);
            let id = u32::from_be_bytes(self.buf[5..9].try_into().unwrap()) & 0x7fff_ffff;
            let payload: Vec<u8> = self.buf[9..9 + len].to_vec();
            self.buf.drain(..9 + len);
            self.frame(kind, flags, id, &payload)?;
        }
        Ok(())
    }

    fn frame(&mut self, kind: u8, flags: u8, id: u32, payload: &[u8]) -> io::Result<()> {
        let mut out = Vec::new();
        match kind {
            HEADERS => self.open(id, flags, &mut out),
            DATA => {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.body_len += payload.len() as u64;
                    s.body_fnv.update(payload);
                    if flags & END_STREAM != 0 {
                        s.ended = Some(Instant::now());
                        let body = (s.body_len, s.body_fnv.0);
                        self.seen.lock().unwrap().bodies.push(body);
                    }
                }
                if !payload.is_empty() {
                    let n = (payload.len() as u32).to_be_bytes();
                    frame(&mut out, WINDOW_UPDATE, 0, 0, &n);
                    frame(&mut out, WINDOW_UPDATE, 0, id, &n);
                }
            }
            SETTINGS if flags & 1 == 0 => {
                for s in payload.chunks_exact(6) {
                    if u16::from_be_bytes([s[0], s[1]]) == 4 {
                        let v = u32::from_be_bytes(s[2..6].try_into().unwrap()) as i64;
                        for st in self.streams.values_mut() {
                            st.window += v - self.initial_window;
                        }
                        self.initial_window = v;
                    }
                }
                frame(&mut out, SETTINGS, 1, 0, &[]);
            }
            PING if flags & 1 == 0 => frame(&mut out, PING, 1, 0, payload),
            WINDOW_UPDATE => {
                let n = (u32::from_be_bytes(payload[..4].try_into().unwrap()) & 0x7fff_ffff) as i64;
                if id == 0 {
                    self.conn_window += n;
                } else if let Some(s) = self.streams.get_mut(&id) {
                    s.window += n;
                }
            }
            RST_STREAM => {
                self.close(id);
            }
            _ => {}
        }
        self.tcp.write_all(&out)
    }

    /// A new stream: its plan from the script.
    fn open(&mut self, id: u32, flags: u8, out: &mut Vec<u8>) {
        let plan = (self.script)(self.number, self.ordinal);
        if let Action::GoAwayBefore = plan.action {
            let mut p = (id - 2).to_be_bytes().to_vec();
            p.extend_from_slice(&0u32.to_be_bytes());
            frame(out, GOAWAY, 0, 0, &p);
        }
        {
            let mut seen = self.seen.lock().unwrap();
            seen.streams[self.number] += 1;
            let open = self.streams.len() + 1;
            let peak = &mut seen.peak_open[self.number];
            *peak = (*peak).max(open);
            if flags & END_STREAM != 0 {
                seen.bodies.push((0, Fnv::default().0));
            }
        }
        let stream = Stream {
            plan,
            ended: (flags & END_STREAM != 0).then(Instant::now),
            body_len: 0,
            body_fnv: Fnv::default(),
            window: self.initial_window,
            sending: None,
        };
        self.ordinal += 1;
        self.streams.insert(id, stream);
    }

    fn close(&mut self, id: u32) {
        self.streams.remove(&id);
    }

    /// Starts the answers that are due, and sends response bodies as the
    /// peer's windows allow.
    fn answer(&mut self) -> io::Result<()> {
        let mut out = Vec::new();
        let due: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.sending.is_none())
            .filter(|(_, s)| s.ended.is_some_and(|t| t.elapsed() >= s.plan.delay))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.start_answer(id, &mut out);
        }
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.send_body(id, &mut out);
        }
        self.tcp.write_all(&out)
    }

    fn start_answer(&mut self, id: u32, out: &mut Vec<u8>) {
        let number = self.number;
        let s = self.streams.get_mut(&id).unwrap();
        let body = match s.plan.action.clone() {
            Action::Ok => format!("conn={number}").into_bytes(),
            Action::Sink => format!("{} {}", s.body_len, s.body_fnv.0).into_bytes(),
            Action::Big(len) => {
                frame(out, HEADERS, END_HEADERS, id, &head(Some(len)));
                s.sending = Some((0, len));
                return;
            }
            Action::Refuse => {
                frame(out, RST_STREAM, 0, id, &REFUSED_STREAM.to_be_bytes());
                self.close(id);
                return;
            }
            Action::ResetAfter(bytes) => {
                frame(out, HEADERS, END_HEADERS, id, &head(None));
                frame(out, DATA, 0, id, bytes);
                frame(out, RST_STREAM, 0, id, &INTERNAL_ERROR.to_be_bytes());
                self.close(id);
                return;
            }
            Action::GoAwayBefore => {
                // Above the GOAWAY's last stream: never answered.
                self.close(id);
                return;
            }
        };
        frame(
            out,
            HEADERS,
            END_HEADERS,
            id,
            &head(Some(body.len() as u64)),
        );
        frame(out, DATA, END_STREAM, id, &body);
        self.close(id);
    }

    fn send_body(&mut self, id: u32, out: &mut Vec<u8>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let Some((sent, len)) = &mut s.sending else {
            return;
        };
        while *sent < *len && s.window > 0 && self.conn_window > 0 && out.len() < 1 << 20 {
            let room = s.window.min(self.conn_window).min(MAX_FRAME as i64) as u64;
            let n = room.min(*len - *sent) as usize;
            // byte[i] = i % 251, as `common::Pattern`.
            let at = (*sent % 251) as usize;
            let flags = if *sent + n as u64 == *len {
                END_STREAM
            } else {
                0
            };
            frame(out, DATA, flags, id, &self.block[at..at + n]);
            *sent += n as u64;
            s.window -= n as i64;
            self.conn_window -= n as i64;
        }
        if *sent == *len {
            self.close(id);
        }
    }
}

/// A response head in HPACK: `:status 200` (static index 8), then
/// content-length as a literal without indexing when given.
fn head(len: Option<u64>) -> Vec<u8> {
    let mut b = vec![0x88];
    if let Some(len) = len {
        let v = len.to_string();
        b.push(0x00);
        b.push(14);
        b.extend_from_slice(b"content-length");
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}
