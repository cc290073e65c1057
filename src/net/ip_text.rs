//! An address as text without an allocation per use.

use std::io::Write;
use std::net::IpAddr;

/// An IP address as text, kept on the stack: formatted once per connection
/// instead of once per forwarded request.
pub struct IpText {
    buf: [u8; 45],
    len: u8,
}

impl IpText {
    pub fn new(ip: IpAddr) -> Self {
        let mut buf = [0u8; 45];
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        // 45 bytes hold the longest IPv6 text form.
        let _ = write!(cursor, "{ip}");
        let len = cursor.position() as u8;
        Self { buf, len }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}
