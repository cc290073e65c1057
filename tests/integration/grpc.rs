//! gRPC through proxyd with real grpcio (Debian's `python3-grpcio`): a Python
//! server as an `h2c://` and as an `https://` (TLS, ALPN h2) upstream, a
//! Python client through proxyd over h2c and over TLS (`grpc/*.py`): unary,
//! server streaming, bidirectional streaming (also ping-pong: both
//! directions at once), an aborted call's status and
//! message (trailers), `grpc-timeout` passed through, and a cancelled stream
//! seen by the server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::common::config::{lb_service_with, router};
use crate::common::*;
use crate::tls::{Site, certs_toml};

mod health;

/// Debian's interpreter, where `python3-grpcio` installs (a `python3` first
/// in PATH, as pyenv's, would not have it).
pub const PYTHON: &str = "/usr/bin/python3";

pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/grpc")
        .join(name)
}

/// The Python gRPC server; killed on drop.
pub struct GrpcServer {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    pub events: PathBuf,
    /// What its health service answers (`--health`): the test rewrites it.
    pub health: PathBuf,
    _dir: tempfile::TempDir,
}

impl GrpcServer {
    /// `tls`: (certificate PEM, key PEM).
    pub fn start(tls: Option<(&str, &str)>) -> GrpcServer {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events");
        let health = dir.path().join("health");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(script("server.py")).arg("--events").arg(&events);
        cmd.arg("--health").arg(&health);
        if let Some((cert, key)) = tls {
            let (c, k) = (dir.path().join("up.crt"), dir.path().join("up.key"));
            std::fs::write(&c, cert).unwrap();
            std::fs::write(&k, key).unwrap();
            cmd.arg("--tls").arg(c).arg(k);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with grpcio (Debian package python3-grpcio) must be installed");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("grpc server did not start: {line:?}"));
        GrpcServer {
            child,
            _stdin: stdin,
            port,
            events,
            health,
            _dir: dir,
        }
    }

    /// What the health service answers from now on: `SERVING`,
    /// `NOT_SERVING` or `UNIMPLEMENTED`.
    pub fn set_health(&self, status: &str) {
        std::fs::write(&self.health, status).unwrap();
    }

    pub fn events(&self) -> String {
        std::fs::read_to_string(&self.events).unwrap_or_default()
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the client through `target`; returns its `name=result` lines.
fn client(target: &str, tls: Option<(&Path, &str)>) -> String {
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(PYTHON)
        .arg(script("client.py"))
        .arg(target);
    if let Some((ca, name)) = tls {
        cmd.arg("--ca").arg(ca).arg("--name").arg(name);
    }
    let out = cmd.output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// What every scenario must show, whatever the transports.
fn check(out: &str, server: &GrpcServer, p: &Proxy) {
    let want = [
        "unary=echo:hi deadline=yes",
        "server_stream=item0,item1,item2,item3,item4",
        "bidi=re:a,re:b,re:c",
        "pingpong=re:a,re:b,re:c",
        "abort=PERMISSION_DENIED/not for you: x",
        "deadline=DEADLINE_EXCEEDED",
        "cancel=tick0,tick1,tick2",
    ];
    for w in want {
        assert!(
            out.lines().any(|l| l == w),
            "want {w:?} in:\n{out}\n{}",
            p.log_text()
        );
    }
    // The client's cancel reached the server as a cancelled stream.
    let seen = poll_until(Duration::from_secs(10), Duration::from_millis(50), || {
        server
            .events()
            .contains("forever ended active=False")
            .then_some(())
    });
    assert!(seen.is_some(), "server events: {:?}", server.events());
}

/// Routers for h2c (plaintext) and TLS clients, both to service `g`.
fn routers() -> String {
    let mut s = router("g", "PathPrefix(`/`)", "g");
    s.push_str(&router("gs", "PathPrefix(`/`)", "g"));
    s.push_str("[http.routers.gs.tls]\n");
    s
}

#[test]
fn grpc_through_proxyd_to_an_h2c_upstream_over_h2c_and_tls() {
    let server = GrpcServer::start(None);
    let site = Site::new();
    let url = format!("h2c://127.0.0.1:{}", server.port);
    let dynamic = routers() + &lb_service_with("g", &[url], "") + &certs_toml(true);
    let p = crate::tls::start_with(&site, &dynamic, |c| c);
    let target = p.addr().to_string();
    check(&client(&target, None), &server, &p);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, site.ca.pem()).unwrap();
    check(&client(&target, Some((&ca, "a.test"))), &server, &p);
}

#[test]
fn grpc_to_an_https_upstream_that_agrees_h2() {
    let site = Site::new();
    let leaf = &site.exact;
    let server = GrpcServer::start(Some((&leaf.cert_pem, &leaf.key_pem)));
    let url = format!("https://127.0.0.1:{}", server.port);
    let transport = "serversTransport = \"t\"\n";
    let dynamic = routers()
        + &lb_service_with("g", &[url], transport)
        + "[http.serversTransports.t]\nserverName = \"a.test\"\nrootCAs = [\"ca.crt\"]\n"
        + &certs_toml(true);
    let p = crate::tls::start_with(&site, &dynamic, |c| c);
    check(&client(&p.addr().to_string(), None), &server, &p);
}

/// Whether a chunked response has come to its end (last chunk, trailers, CRLF).
fn chunked_ended(got: &[u8]) -> bool {
    let text = String::from_utf8_lossy(got);
    text.find("\r\n0\r\n")
        .is_some_and(|at| text[at + 2..].ends_with("\r\n\r\n"))
}

#[test]
fn an_http1_client_gets_the_h2c_upstreams_trailers_in_its_chunked_body() {
    use std::io::{Read, Write};
    let server = GrpcServer::start(None);
    let url = format!("h2c://127.0.0.1:{}", server.port);
    let p = Proxy::start(&ProxyConfig::new(&crate::common::config::app(&[url])));
    let mut s = std::net::TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    // One gRPC message: no compression, length 2, "hi".
    let body = b"\x00\x00\x00\x00\x02hi";
    let head = format!(
        "POST /test.T/Unary HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/grpc\r\n\
         TE: trailers\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
    while !chunked_ended(&got) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("echo:hi deadline=no"), "{text}");
    let trailers = text.rsplit("\r\n0\r\n").next().unwrap();
    assert!(trailers.contains("grpc-status: 0"), "{text}");
}
