//! Let's Encrypt's Pebble test CA and its mock DNS (`pebble-challtestsrv`,
//! every name → 127.0.0.1), started on free ports with a generated config whose
//! httpPort/tlsPort are proxyd's entry points. Both are killed on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::tls::pki::{self, Ca};

/// A fixed port (the test needs it in two configs, and restarts proxyd on it).
pub fn free_port() -> u16 {
    crate::common::ports::fixed_port()
}

pub struct Pebble {
    pebble: Child,
    dns: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    mgmt: u16,
    /// The CA that signed Pebble's own HTTPS certificate (for `caCertificates`).
    pub https_ca: PathBuf,
    ca: Ca,
}

pub struct Opts {
    pub http_port: u16,
    pub tls_port: u16,
    /// `certificateValidityPeriod` in seconds (Pebble's default: 5 years).
    pub validity: Option<u64>,
}

impl Pebble {
    pub fn start(o: Opts) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("pebble https CA");
        let leaf = ca.leaf(&["pebble.test"]);
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, &leaf.cert_pem).unwrap();
        std::fs::write(&key, &leaf.key_pem).unwrap();
        let https_ca = dir.path().join("https-ca.pem");
        std::fs::write(&https_ca, ca.pem()).unwrap();
        let (port, mgmt, dns_port, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
        let validity = o.validity.map_or(String::new(), |v| {
            format!(",\"certificateValidityPeriod\":{v}")
        });
        let cfg = format!(
            "{{\"pebble\":{{\"listenAddress\":\"127.0.0.1:{port}\",\"managementListenAddress\":\"127.0.0.1:{mgmt}\",\
             \"certificate\":\"{}\",\"privateKey\":\"{}\",\"httpPort\":{},\"tlsPort\":{},\
             \"ocspResponderURL\":\"\",\"externalAccountBindingRequired\":false{validity}}}}}",
            cert.display(),
            key.display(),
            o.http_port,
            o.tls_port
        );
        let cfg_path = dir.path().join("pebble.json");
        std::fs::write(&cfg_path, cfg).unwrap();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let dns = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-management", &format!("127.0.0.1:{dns_mgmt}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .stdout(log("dns.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (Debian package `pebble`) must be installed");
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&cfg_path)
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_VA_ALWAYS_VALID", "0")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log("pebble.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian package `pebble`) must be installed");
        let p = Pebble {
            pebble,
            dns,
            dir,
            port,
            mgmt,
            https_ca,
            ca,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", mgmt)).is_err()
            || TcpStream::connect(("127.0.0.1", dns_port)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "pebble did not start: {}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// The `certificatesResolvers` static section for this Pebble.
    pub fn resolver(&self, name: &str, storage: &Path, challenge: &str, extra: &str) -> String {
        format!(
            "[certificatesResolvers.{name}.acme]\nemail = \"ops@acme.test\"\n\
             caServer = \"https://127.0.0.1:{}/dir\"\ncaServerName = \"pebble.test\"\n\
             caCertificates = [\"{}\"]\nstorage = \"{}\"\n{extra}\n{challenge}\n",
            self.port,
            self.https_ca.display(),
            storage.display()
        )
    }

    /// Pebble's (per-run) root, from its management interface: what a client trusts.
    pub fn root_pem(&self) -> String {
        let cfg = pki::client_config(pki::Opts {
            roots: Some(self.ca.roots()),
            ..Default::default()
        });
        let name = rustls::pki_types::ServerName::try_from("pebble.test").unwrap();
        let conn = rustls::ClientConnection::new(cfg, name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", self.mgmt)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(b"GET /roots/0 HTTP/1.0\r\nHost: pebble.test\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let at = text.find("-----BEGIN").expect("a PEM root");
        text[at..].to_string()
    }

    /// A client config trusting only Pebble's root.
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(self.root_pem().as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        pki::client_config(pki::Opts {
            roots: Some(roots),
            ..Default::default()
        })
    }
}

impl Pebble {
    /// Stops the CA (the DNS stays): every later ACME request fails.
    pub fn stop_ca(&mut self) {
        let _ = self.pebble.kill();
        let _ = self.pebble.wait();
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.pebble.kill();
        let _ = self.dns.kill();
        let _ = self.pebble.wait();
        let _ = self.dns.wait();
    }
}
