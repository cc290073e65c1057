//! An HTTPS test upstream on rustls: keep-alive GETs answered with what the
//! TLS layer saw (connection number, SNI, protocol version, whether the
//! handshake resumed, whether a client certificate came), and counts of full
//! and resumed handshakes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::server::WebPkiClientVerifier;
use rustls::{
    HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig, ServerConnection, StreamOwned,
    SupportedProtocolVersion,
};

use crate::common::IO_TIMEOUT;
use crate::common::acceptor::Acceptor;
use crate::tls::pki::Leaf;

pub static TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
pub static BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

#[derive(Default)]
pub struct Stats {
    pub full: AtomicUsize,
    pub resumed: AtomicUsize,
    /// Requests answered, on all connections.
    pub requests: AtomicUsize,
}

pub struct TlsUpstream {
    acceptor: Acceptor,
    pub stats: Arc<Stats>,
}

impl TlsUpstream {
    /// Serves `leaf` with `versions`; with `client_ca`, a client certificate
    /// issued by it is required.
    pub fn start(
        leaf: &Leaf,
        versions: &'static [&'static SupportedProtocolVersion],
        client_ca: Option<RootCertStore>,
    ) -> TlsUpstream {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let b = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap();
        let b = match client_ca {
            None => b.with_no_client_auth(),
            Some(roots) => {
                let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
                b.with_client_cert_verifier(v)
            }
        };
        let config = b
            .with_single_cert(vec![leaf.der.clone()], leaf.key_der())
            .unwrap();
        // rustls' default in-memory session cache resumes TLS 1.2 session IDs
        // and TLS 1.3 stateful tickets.
        let config = Arc::new(config);
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        let acceptor = Acceptor::start(move |tcp, id, _| serve(tcp, id, &config, &st));
        TlsUpstream { acceptor, stats }
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr())
    }

    pub fn handshakes(&self) -> (usize, usize) {
        let s = &self.stats;
        (
            s.full.load(Ordering::SeqCst),
            s.resumed.load(Ordering::SeqCst),
        )
    }
}

fn serve(tcp: TcpStream, id: usize, config: &Arc<ServerConfig>, stats: &Stats) {
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let conn = ServerConnection::new(config.clone()).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return;
        }
    }
    let resumed = tls.conn.handshake_kind() == Some(HandshakeKind::Resumed);
    let counter = if resumed { &stats.resumed } else { &stats.full };
    counter.fetch_add(1, Ordering::SeqCst);
    let version = match tls.conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "1.3",
        Some(ProtocolVersion::TLSv1_2) => "1.2",
        _ => "?",
    };
    let body = format!(
        "conn={id} sni={} version={version} resumed={resumed} client_cert={}",
        tls.conn.server_name().unwrap_or("-"),
        tls.conn.peer_certificates().is_some_and(|c| !c.is_empty()),
    );
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        // Bodiless requests only: the head ends the request.
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
        if head.ends_with(b"\r\n\r\n") {
            head.clear();
            stats.requests.fetch_add(1, Ordering::SeqCst);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if tls.write_all(resp.as_bytes()).is_err() || tls.flush().is_err() {
                return;
            }
        }
    }
}
