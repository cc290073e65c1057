//! Redis Sentinel: the provider's `endpoints` are sentinels, asked in order for
//! the master's address (`SENTINEL get-master-addr-by-name`); the store is read
//! and watched on that master. A failover is followed because every read asks
//! again, and a watch session ends when the sentinels name another master.

use std::io;
use std::time::Duration;

use super::resp::Conn;
use crate::config::{KvProvider, RedisSentinel as Sentinel};

/// The master's `host:port`, from the first sentinel that knows it.
pub fn master(p: &KvProvider, s: &Sentinel, timeout: Duration) -> io::Result<String> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no sentinel endpoint");
    for endpoint in &p.endpoints {
        match ask(endpoint, p, s, timeout) {
            Ok(addr) => return Ok(addr),
            Err(e) => {
                last = io::Error::new(e.kind(), format!("sentinel {endpoint}: {e}"));
            }
        }
    }
    Err(last)
}

fn ask(endpoint: &str, p: &KvProvider, s: &Sentinel, timeout: Duration) -> io::Result<String> {
    let mut conn = Conn::open(endpoint, p.tls.as_ref(), timeout)?;
    conn.auth(s.username.as_deref(), s.password.as_deref())?;
    let reply = conn.call(&[
        b"SENTINEL",
        b"get-master-addr-by-name",
        s.master_name.as_bytes(),
    ])?;
    let mut parts = reply
        .into_array()?
        .into_iter()
        .filter_map(|r| r.into_bytes());
    match (parts.next(), parts.next()) {
        (Some(host), Some(port)) => {
            let (host, port) = (
                String::from_utf8_lossy(&host),
                String::from_utf8_lossy(&port),
            );
            // An IPv6 address needs brackets to be `host:port`.
            Ok(if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            })
        }
        _ => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no master named {:?}", s.master_name),
        )),
    }
}
