//! `https://` servers and HTTP/2: proxyd offers `h2, http/1.1` in ALPN and
//! speaks what the server chose; `disableHTTP2` offers only `http/1.1`
//! (Traefik's option). The server is Python's HTTP/1.1 `http.server` over TLS
//! (`grpc/h1_tls.py`), which reports the protocol its handshake agreed.

mod faults;
mod frame_server;
mod mirror;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::common::client::get;
use crate::common::config::{lb_service_with, router};
use crate::common::*;
use crate::tls::Site;

/// The Python server, offering `alpn`; killed on drop.
struct H1Tls {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    _dir: tempfile::TempDir,
}

impl H1Tls {
    fn start(site: &Site, alpn: &str) -> H1Tls {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("up.crt"), dir.path().join("up.key"));
        std::fs::write(&c, &site.exact.cert_pem).unwrap();
        std::fs::write(&k, &site.exact.key_pem).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/grpc/h1_tls.py");
        let mut child = Command::new(crate::grpc::PYTHON)
            .arg(script)
            .arg(&c)
            .arg(&k)
            .arg(alpn)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
        H1Tls {
            child,
            _stdin: stdin,
            port,
            _dir: dir,
        }
    }
}

impl Drop for H1Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(site: &Site, up: &H1Tls, transport: &str) -> Proxy {
    let url = format!("https://127.0.0.1:{}", up.port);
    let dynamic = router("app", "Host(`app.test`)", "app")
        + &lb_service_with("app", &[url], "serversTransport = \"t\"\n")
        + "[http.serversTransports.t]\nserverName = \"a.test\"\nrootCAs = [\"ca.crt\"]\n"
        + transport;
    crate::tls::start_with(site, &dynamic, |c| c)
}

#[test]
fn a_server_that_chooses_http1_in_alpn_gets_http1() {
    let site = Site::new();
    let up = H1Tls::start(&site, "http/1.1");
    let p = start(&site, &up, "");
    for _ in 0..2 {
        let r = get(p.addr(), "app.test", "/");
        assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
        assert_eq!(r.text(), "alpn=http/1.1");
    }
}

#[test]
fn disable_http2_offers_only_http1() {
    let site = Site::new();
    // This server prefers h2 (and cannot speak it): only disableHTTP2 keeps
    // proxyd on HTTP/1.1 with it.
    let up = H1Tls::start(&site, "h2,http/1.1");
    let p = start(&site, &up, "disableHTTP2 = true\n");
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
    assert_eq!(r.text(), "alpn=http/1.1");
    drop(p);
    let p = start(&site, &up, "");
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(
        r.status,
        502,
        "h2 was agreed, so the HTTP/1.1 server fails: {}",
        r.text()
    );
}
