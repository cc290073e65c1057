//! Config generation for tests: the static file (entry points, provider,
//! workers, log) and helpers for dynamic routers and services.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One `[entryPoints.<name>]` table.
#[derive(Clone, Debug)]
pub struct EntryPoint {
    pub name: String,
    pub address: String,
    pub read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub grace_timeout: Option<String>,
    pub trusted_ips: Option<Vec<String>>,
    pub insecure: Option<bool>,
    pub max_header_bytes: Option<usize>,
    /// Raw TOML appended after the entry point's tables (e.g. `http.tls`).
    pub extra: String,
}

impl EntryPoint {
    pub fn new(name: &str) -> EntryPoint {
        EntryPoint {
            name: name.to_string(),
            address: "127.0.0.1:0".to_string(),
            read_timeout: None,
            idle_timeout: None,
            grace_timeout: None,
            trusted_ips: None,
            insecure: None,
            max_header_bytes: None,
            extra: String::new(),
        }
    }

    fn to_toml(&self, out: &mut String) {
        let n = &self.name;
        let _ = writeln!(out, "[entryPoints.{n}]\naddress = \"{}\"", self.address);
        if self.read_timeout.is_some() || self.idle_timeout.is_some() {
            let _ = writeln!(out, "[entryPoints.{n}.transport.respondingTimeouts]");
            if let Some(t) = &self.read_timeout {
                let _ = writeln!(out, "readTimeout = \"{t}\"");
            }
            if let Some(t) = &self.idle_timeout {
                let _ = writeln!(out, "idleTimeout = \"{t}\"");
            }
        }
        if let Some(t) = &self.grace_timeout {
            let _ = writeln!(
                out,
                "[entryPoints.{n}.transport.lifeCycle]\ngraceTimeOut = \"{t}\""
            );
        }
        if self.trusted_ips.is_some() || self.insecure.is_some() {
            let _ = writeln!(out, "[entryPoints.{n}.forwardedHeaders]");
            if let Some(ips) = &self.trusted_ips {
                let list: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
                let _ = writeln!(out, "trustedIPs = [{}]", list.join(", "));
            }
            if let Some(i) = self.insecure {
                let _ = writeln!(out, "insecure = {i}");
            }
        }
        if let Some(m) = self.max_header_bytes {
            let _ = writeln!(out, "[entryPoints.{n}.http]\nmaxHeaderBytes = {m}");
        }
        out.push_str(&self.extra);
    }
}

/// A static config plus the dynamic files that go in the provider directory.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub entry_points: Vec<EntryPoint>,
    /// `[workers] cores`; `None` leaves it out.
    pub cores: Option<usize>,
    pub io_driver: Option<String>,
    /// (file name, TOML) pairs written under the provider directory.
    pub dynamic: Vec<(String, String)>,
    /// Extra CLI arguments after `--config FILE`.
    pub args: Vec<String>,
    /// `providers.file.watch`; off unless a test is about reloading.
    pub watch: bool,
    /// `providers.providersThrottleDuration`; `None` leaves proxyd's default.
    pub throttle: Option<String>,
    /// Use `filename = "dynamic/<name>"` instead of `directory = "dynamic"`.
    pub filename: Option<String>,
    /// Runs on the provider directory after `dynamic` is written (symlink layouts).
    pub layout: Option<fn(&Path)>,
    /// Raw TOML appended to the static file (observability sections, extra entry points).
    pub extra_static: String,
    /// `[log] level` (`INFO` unless a test needs proxyd's debug lines).
    pub log_level: &'static str,
    /// Environment variables proxyd runs with (e.g. `TMPDIR`).
    pub env: Vec<(String, String)>,
    /// A file proxyd sees as its `/etc/hosts`: it runs in a mount namespace
    /// of its own with this file bind-mounted there (root only, see
    /// `Proxy::spawn`), so a test can make a name resolve later by
    /// rewriting the file in place.
    pub hosts: Option<PathBuf>,
}

impl ProxyConfig {
    /// One entry point `web` on 127.0.0.1:0, one worker, one dynamic file.
    pub fn new(dynamic: &str) -> ProxyConfig {
        ProxyConfig {
            entry_points: vec![EntryPoint::new("web")],
            cores: Some(1),
            io_driver: None,
            dynamic: vec![("dynamic.toml".to_string(), dynamic.to_string())],
            args: Vec::new(),
            watch: false,
            throttle: None,
            filename: None,
            layout: None,
            extra_static: String::new(),
            log_level: "INFO",
            env: Vec::new(),
            hosts: None,
        }
    }

    /// Edits the first entry point (`web`).
    pub fn web(mut self, f: impl FnOnce(&mut EntryPoint)) -> ProxyConfig {
        f(&mut self.entry_points[0]);
        self
    }

    pub fn entry_point(mut self, ep: EntryPoint) -> ProxyConfig {
        self.entry_points.push(ep);
        self
    }

    pub fn arg(mut self, a: &str) -> ProxyConfig {
        self.args.push(a.to_string());
        self
    }

    pub fn static_toml(&self, dynamic_dir: &Path) -> String {
        let mut out = String::new();
        for ep in &self.entry_points {
            ep.to_toml(&mut out);
        }
        if let Some(t) = &self.throttle {
            let _ = writeln!(out, "[providers]\nprovidersThrottleDuration = \"{t}\"");
        }
        let source = match &self.filename {
            Some(name) => format!("filename = \"{}\"", dynamic_dir.join(name).display()),
            None => format!("directory = \"{}\"", dynamic_dir.display()),
        };
        let _ = writeln!(out, "[providers.file]\n{source}\nwatch = {}", self.watch);
        if self.cores.is_some() || self.io_driver.is_some() {
            let _ = writeln!(out, "[workers]");
            if let Some(c) = self.cores {
                let _ = writeln!(out, "cores = {c}");
            }
            if let Some(d) = &self.io_driver {
                let _ = writeln!(out, "ioDriver = \"{d}\"");
            }
        }
        let _ = writeln!(out, "[log]\nlevel = \"{}\"", self.log_level);
        out.push_str(&self.extra_static);
        out
    }

    /// Turns on file watching, with this throttle (`None`: proxyd's default).
    pub fn watched(mut self, throttle: Option<&str>) -> ProxyConfig {
        self.watch = true;
        self.throttle = throttle.map(str::to_string);
        self
    }

    /// Writes the config into a fresh temp dir; returns (dir, static file).
    pub fn write(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let dyn_dir = dir.path().join("dynamic");
        std::fs::create_dir(&dyn_dir).expect("mkdir dynamic");
        for (name, body) in &self.dynamic {
            std::fs::write(dyn_dir.join(name), body).expect("write dynamic file");
        }
        if let Some(layout) = self.layout {
            layout(&dyn_dir);
        }
        let file = dir.path().join("proxyd.toml");
        std::fs::write(&file, self.static_toml(&dyn_dir)).expect("write static file");
        (dir, file)
    }
}

/// A service table pointing at the given upstream URLs.
pub fn lb_service(name: &str, urls: &[String]) -> String {
    lb_service_with(name, urls, "")
}

/// A service table; `extra` lines go into the `loadBalancer` table itself
/// (e.g. `passHostHeader = false`).
pub fn lb_service_with(name: &str, urls: &[String], extra: &str) -> String {
    let mut s = format!("[http.services.{name}.loadBalancer]\n{extra}");
    if urls.is_empty() {
        s.push_str("servers = []\n");
    }
    for u in urls {
        let _ = writeln!(
            s,
            "[[http.services.{name}.loadBalancer.servers]]\nurl = \"{u}\""
        );
    }
    s
}

/// A router table.
pub fn router(name: &str, rule: &str, service: &str) -> String {
    format!(
        "[http.routers.{name}]\nrule = {}\nservice = \"{service}\"\n",
        toml_str(rule)
    )
}

/// A TOML literal string for rules (they contain backticks and quotes, but
/// never single quotes in these tests).
pub fn toml_str(s: &str) -> String {
    assert!(!s.contains('\''), "rule with a single quote: {s}");
    format!("'{s}'")
}

/// One router `app` for Host(`app.test`) → service `app` with these URLs.
pub fn app(urls: &[String]) -> String {
    format!(
        "{}{}",
        router("app", "Host(`app.test`)", "app"),
        lb_service("app", urls)
    )
}

/// Like [`app`] with a servers transport `t` with the given timeouts.
pub fn app_with_transport(url: &str, dial: &str, response_header: &str) -> String {
    format!(
        "{}{}[http.serversTransports.t.forwardingTimeouts]\n\
         dialTimeout = \"{dial}\"\nresponseHeaderTimeout = \"{response_header}\"\n",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with("app", &[url.to_string()], "serversTransport = \"t\"\n"),
    )
}
