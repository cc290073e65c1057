//! Real KV stores for the KV provider tests: `redis-server` and `etcd` started
//! on free ports in temp dirs, written to with their own command-line clients
//! (`redis-cli`, `etcdctl`), stopped on drop. `.ci/run` installs them
//! (Debian: redis-server, etcd-server, etcd-client).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::client::get;
use crate::common::*;

/// Per change: a debug build on a busy two-core machine, plus a poll interval.
pub const CHANGE_LIMIT: Duration = Duration::from_secs(15);
pub const THROTTLE: &str = "100ms";
/// Several throttle windows: long enough for a spurious second reload to happen.
pub const SETTLE: Duration = Duration::from_millis(1000);
pub const RELOADED: &str = "configuration reloaded generation=";
pub const REFUSED: &str = "configuration reload refused";

/// A store's port: it is stopped and started again on it (see `common::ports`).
pub fn free_port() -> u16 {
    crate::common::ports::fixed_port()
}

fn wait_port(port: u16, what: &str) {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let up = poll_until(Duration::from_secs(20), Duration::from_millis(50), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            .ok()
            .map(|_| ())
    });
    assert!(up.is_some(), "{what} did not listen on {port}");
}

/// A store server process; killed on drop.
pub struct Store {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    start: fn(&Store) -> Child,
    /// More server arguments (TLS), and the client's (`redis-cli`, `etcdctl`).
    pub server_args: Vec<String>,
    client_args: Vec<String>,
    tls: bool,
}

impl Store {
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> String {
        self.dir.path().to_str().unwrap().to_string()
    }

    /// A file in the store's directory (certificates), written now.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP (`true`) or SIGCONT: a stopped server still completes TCP
    /// handshakes (the kernel does) but answers nothing — a black hole.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id() as libc::pid_t;
        let sig = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: signals our own child.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    /// Starts again on the same port with the same data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some((self.start)(self));
        wait_port(self.port, "store");
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `redis-server` on a free port; `notify` is its `notify-keyspace-events`.
pub fn redis(notify: &'static str) -> Store {
    redis_unstarted(notify).started()
}

pub fn redis_unstarted(notify: &'static str) -> Store {
    fn spawn_with(s: &Store, notify: &str) -> Child {
        Command::new("redis-server")
            .args(["--port", &s.port.to_string(), "--bind", "127.0.0.1"])
            // `always`: a write is in the file before its reply, so the data a
            // test wrote survives `stop` (SIGKILL). With `everysec` Redis may put
            // off writing the file while an fsync is slow, and a loaded machine
            // lost the last key of a test that restarts its store.
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(s.dir.path())
            .args(["--notify-keyspace-events", notify])
            .args(&s.server_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server)")
    }
    fn with_notify(s: &Store) -> Child {
        spawn_with(s, "KA")
    }
    fn without_notify(s: &Store) -> Child {
        spawn_with(s, "")
    }
    Store {
        child: None,
        port: free_port(),
        dir: tempfile::tempdir().unwrap(),
        start: if notify.is_empty() {
            without_notify
        } else {
            with_notify
        },
        server_args: Vec::new(),
        client_args: Vec::new(),
        tls: false,
    }
}

/// `etcd` on free ports, one member.
pub fn etcd() -> Store {
    etcd_unstarted().started()
}

fn etcd_unstarted() -> Store {
    fn spawn(s: &Store) -> Child {
        let scheme = if s.tls { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{}", s.port);
        let peer = format!("http://127.0.0.1:{}", s.port + 1);
        Command::new("etcd")
            .args(["--name", "t", "--data-dir"])
            .arg(s.dir.path().join("data"))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &format!("t={peer}")])
            .args(&s.server_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd (Debian package etcd-server)")
    }
    // The peer port is the next one: find a pair that is free.
    let port = loop {
        let p = free_port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break p;
        }
    };
    Store {
        child: None,
        port,
        dir: tempfile::tempdir().unwrap(),
        start: spawn,
        server_args: Vec::new(),
        client_args: Vec::new(),
        tls: false,
    }
}

impl Store {
    pub fn started(mut self) -> Store {
        self.restart();
        self
    }

    /// Starts with TLS: `server` and `client` are more server and client
    /// arguments, where `{dir}` stands for the store's directory and `{port}`
    /// for its port; `files` are written into the directory first.
    fn with_tls(mut self, files: &[(&str, &str)], server: &[&str], client: &[&str]) -> Store {
        for (name, text) in files {
            self.file(name, text);
        }
        let dir = self.dir.path().to_str().unwrap().to_string();
        let port = self.port.to_string();
        let fill = |a: &&str| a.replace("{dir}", &dir).replace("{port}", &port);
        self.server_args = server.iter().map(fill).collect();
        self.client_args = client.iter().map(fill).collect();
        self.tls = true;
        self.started()
    }
}

/// A server started by `start` (which may read `server_args`) on a free port.
pub fn custom_store(start: fn(&Store) -> Child, server_args: Vec<String>) -> Store {
    Store {
        child: None,
        port: free_port(),
        dir: tempfile::tempdir().unwrap(),
        start,
        server_args,
        client_args: Vec::new(),
        tls: false,
    }
    .started()
}

/// `redis-server` with keyspace notifications and TLS only, on its port.
pub fn redis_tls(files: &[(&str, &str)], server: &[&str], client: &[&str]) -> Store {
    let mut args = vec!["--port", "0", "--tls-port", "{port}"];
    args.extend_from_slice(server);
    let mut cli = vec!["--tls"];
    cli.extend_from_slice(client);
    redis_unstarted("KA").with_tls(files, &args, &cli)
}

/// `etcd` serving its clients over TLS only.
pub fn etcd_tls(files: &[(&str, &str)], server: &[&str], client: &[&str]) -> Store {
    etcd_unstarted().with_tls(files, server, client)
}

/// Runs a store client; panics with its output if it fails.
pub fn client(program: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `redis-cli` with `args`, or with commands on stdin when `args` is empty.
pub fn redis_cli(s: &Store, args: &[&str], stdin: &str) -> String {
    let port = s.port.to_string();
    let mut all = vec!["-p", &port];
    all.extend(s.client_args.iter().map(String::as_str));
    all.extend_from_slice(args);
    client("redis-cli", &all, stdin)
}

pub fn etcdctl(s: &Store, args: &[&str], stdin: &str) -> String {
    let scheme = if s.tls { "https" } else { "http" };
    let endpoints = format!("--endpoints={scheme}://{}", s.endpoint());
    let mut all = vec![endpoints.as_str()];
    all.extend(s.client_args.iter().map(String::as_str));
    all.extend_from_slice(args);
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(stdin.as_bytes())?;
            c.wait_with_output()
        })
        .expect("etcdctl (Debian package etcd-client)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// proxyd on `--cores 2` with an empty dynamic file and this provider section,
/// and Prometheus metrics on an entry point `traefik`.
pub fn proxy(provider_toml: &str) -> Proxy {
    let mut cfg = ProxyConfig::new("")
        .watched(Some(THROTTLE))
        .entry_point(EntryPoint::new("traefik"));
    cfg.cores = None;
    cfg.extra_static = format!("[metrics.prometheus]\n{provider_toml}");
    Proxy::start(&cfg.arg("--cores").arg("2"))
}

/// Waits for the `proxyd_provider_up` line of `provider` to say `up`.
pub fn wait_provider_up(p: &Proxy, provider: &str, up: bool) {
    let line = format!(
        "proxyd_provider_up{{provider=\"{provider}\"}} {}",
        u8::from(up)
    );
    let seen = poll_until(CHANGE_LIMIT, Duration::from_millis(50), || {
        get(p.addr_of("traefik"), "admin", "/metrics")
            .text()
            .contains(&line)
            .then_some(())
    });
    assert!(
        seen.is_some(),
        "no {line:?} in /metrics; log:\n{}",
        p.log_text()
    );
}

/// The pairs of a router `name` for Host(`host`) and a `respond` service
/// answering `body`, in Traefik's layout under `traefik/`.
pub fn respond_pairs(name: &str, host: &str, body: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("traefik/http/routers/{name}/rule"),
            format!("Host(`{host}`)"),
        ),
        (format!("traefik/http/routers/{name}/service"), name.into()),
        (
            format!("traefik/http/services/{name}/respond/body"),
            body.into(),
        ),
    ]
}

/// Waits until `host` answers `want` (status 200); panics with the log if not.
pub fn wait_body(p: &Proxy, host: &str, want: &str) {
    let got = poll_until(CHANGE_LIMIT, Duration::from_millis(20), || {
        let r = get(p.addr(), host, "/");
        (r.status == 200 && r.text() == want).then_some(())
    });
    assert!(
        got.is_some(),
        "{host} never answered {want:?}; log:\n{}",
        p.log_text()
    );
}

pub fn wait_status(p: &Proxy, host: &str, status: u16) {
    let got = poll_until(CHANGE_LIMIT, Duration::from_millis(20), || {
        (get(p.addr(), host, "/").status == status).then_some(())
    });
    assert!(
        got.is_some(),
        "{host} never answered {status}; log:\n{}",
        p.log_text()
    );
}

/// Lets the watchers settle, then checks that exactly `n` reloads happened.
pub fn expect_reloads(p: &Proxy, n: usize, what: &str) {
    assert!(
        p.wait_log_count(RELOADED, n, CHANGE_LIMIT),
        "{what}: {n} reload(s) expected; log:\n{}",
        p.log_text()
    );
    std::thread::sleep(SETTLE);
    assert_eq!(p.log_count(RELOADED), n, "{what}; log:\n{}", p.log_text());
}

/// A dynamic TOML document as store pairs under `traefik/`: tables are
/// segments, arrays numbered segments, scalars their text.
pub fn toml_pairs(src: &str) -> Vec<(String, String)> {
    fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            // An empty table is the empty value (`tls = ""` enables TLS).
            toml::Value::Table(t) if t.is_empty() => out.push((prefix.to_string(), String::new())),
            toml::Value::Table(t) => t
                .iter()
                .for_each(|(k, v)| flatten(&format!("{prefix}/{k}"), v, out)),
            toml::Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| flatten(&format!("{prefix}/{i}"), v, out)),
            toml::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    flatten(
        "traefik",
        &toml::from_str(src).expect("valid TOML"),
        &mut out,
    );
    out
}

/// Starts proxyd on a file holding a sample configuration and proxyd on
/// `provider_toml` alone, has `write` put the same sample into the store, and
/// checks that the API documents are the same but for the provider (`@file`
/// against `@<provider>`, and the `provider` fields).
pub fn same_api_documents(
    provider_toml: &str,
    provider: &str,
    write: impl FnOnce(&[(String, String)]),
) {
    use crate::common::config::{lb_service, router};
    let up = Upstream::echo("u");
    let doc = format!(
        "{}{}[http.routers.a.tls]\n[http.middlewares.strip.stripPrefix]\nprefixes = [\"/x\", \"/y\"]\n\
         [http.routers.b]\nrule = \"PathPrefix(`/b`)\"\nservice = \"svc\"\nmiddlewares = [\"strip\"]\npriority = 7\n",
        router("a", "Host(`a.test`)", "svc"),
        lb_service("svc", &[up.url()]),
    );
    let api = "[api]\ninsecure = true\n";
    let mut file_cfg = ProxyConfig::new(&doc).entry_point(EntryPoint::new("traefik"));
    file_cfg.extra_static = api.into();
    let from_file = Proxy::start(&file_cfg);

    let mut cfg = ProxyConfig::new("").entry_point(EntryPoint::new("traefik"));
    cfg.extra_static = format!("{api}{provider_toml}");
    let from_store = Proxy::start(&cfg);
    write(&toml_pairs(&doc));
    let served = poll_until(CHANGE_LIMIT, Duration::from_millis(20), || {
        (get(from_store.addr(), "x", "/b").status == 200).then_some(())
    });
    assert!(served.is_some(), "{}", from_store.log_text());

    for path in [
        "/api/http/routers",
        "/api/http/services",
        "/api/http/middlewares",
    ] {
        let doc = |p: &Proxy| get(p.addr_of("traefik"), "admin", path).text();
        let want = doc(&from_file);
        let got = doc(&from_store)
            .replace(&format!("@{provider}"), "@file")
            .replace(
                &format!("\"provider\":\"{provider}\""),
                "\"provider\":\"file\"",
            );
        assert_eq!(got, want, "{path}");
        // Each list is compared with something in it.
        let must = match path {
            "/api/http/middlewares" => "strip@file",
            _ => "svc@file",
        };
        assert!(
            want.contains(must),
            "{path}: {want}\n{}",
            from_file.log_text()
        );
    }
}
