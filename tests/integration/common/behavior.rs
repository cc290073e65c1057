//! What a test upstream answers with: status, headers, body source, framing,
//! delays and misbehaviours.

use std::time::Duration;

/// What the upstream answers with.
#[derive(Clone, Debug)]
pub enum Body {
    /// A line-based dump of the request (see [`echo_dump`]).
    Echo,
    Fixed(Vec<u8>),
    /// `len` bytes of [`Pattern`], generated while writing.
    Pattern(u64),
    /// Explicit pieces: one chunk each when the framing is chunked.
    Chunks(Vec<Vec<u8>>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length,
    Chunked,
    /// No Content-Length / Transfer-Encoding; the body ends when we close.
    UntilClose,
}

#[derive(Clone, Debug)]
pub struct Behavior {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub framing: Framing,
    /// Sleep after reading the request, before answering.
    pub delay: Duration,
    /// An interim response (e.g. 100 or 103) sent before the final one.
    pub interim: Option<u16>,
    /// Read the request head, then close without answering.
    pub close_without_response: bool,
    /// Write these bytes instead of a response, then close.
    pub raw: Option<Vec<u8>>,
    /// Read the request head, then reset the connection (RST, SO_LINGER 0).
    pub reset_without_response: bool,
    /// Close right after a keep-alive response (no `Connection: close`),
    /// like a server whose idle timeout is tiny.
    pub close_after_response: bool,
}

impl Behavior {
    pub fn echo() -> Behavior {
        Behavior {
            status: 200,
            headers: Vec::new(),
            body: Body::Echo,
            framing: Framing::Length,
            delay: Duration::ZERO,
            interim: None,
            close_without_response: false,
            raw: None,
            close_after_response: false,
            reset_without_response: false,
        }
    }

    pub fn fixed(status: u16, body: &[u8]) -> Behavior {
        Behavior {
            status,
            body: Body::Fixed(body.to_vec()),
            ..Behavior::echo()
        }
    }

    pub fn pattern(len: u64) -> Behavior {
        Behavior {
            body: Body::Pattern(len),
            ..Behavior::echo()
        }
    }

    pub fn chunks(pieces: &[&[u8]]) -> Behavior {
        Behavior {
            body: Body::Chunks(pieces.iter().map(|p| p.to_vec()).collect()),
            framing: Framing::Chunked,
            ..Behavior::echo()
        }
    }

    pub fn delay(mut self, d: Duration) -> Behavior {
        self.delay = d;
        self
    }

    pub fn chunked(mut self) -> Behavior {
        self.framing = Framing::Chunked;
        self
    }

    pub fn until_close(mut self) -> Behavior {
        self.framing = Framing::UntilClose;
        self
    }

    pub fn close_after_response(mut self) -> Behavior {
        self.close_after_response = true;
        self
    }

    pub fn interim(mut self, status: u16) -> Behavior {
        self.interim = Some(status);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Behavior {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn close_without_response() -> Behavior {
        Behavior {
            close_without_response: true,
            ..Behavior::echo()
        }
    }

    pub fn reset_without_response() -> Behavior {
        Behavior {
            reset_without_response: true,
            ..Behavior::echo()
        }
    }

    pub fn raw(bytes: &[u8]) -> Behavior {
        Behavior {
            raw: Some(bytes.to_vec()),
            ..Behavior::echo()
        }
    }
}
