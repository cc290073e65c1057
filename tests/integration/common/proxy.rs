//! Starting the real `proxyd` binary: log capture, the
//! bound-port handshake (`listening entrypoint=… addr=… worker=…` lines), and a
//! guard that kills the process on drop and prints its log when a test fails.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::ProxyConfig;
use super::poll_until;

pub const BIN: &str = env!("CARGO_BIN_EXE_proxyd");

/// How long a debug build gets to print `ready`.
const START_LIMIT: Duration = Duration::from_secs(20);
/// How long the log reader gets to catch up with an exited proxyd.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// Shared log buffer filled by a reader thread.
type Log = Arc<Mutex<Vec<String>>>;

/// A running `proxyd`. Killed (SIGKILL) on drop; if the test is panicking its
/// stderr is printed so the failure shows what the proxy said.
pub struct Proxy {
    child: Child,
    log: Log,
    reader: Option<JoinHandle<()>>,
    exit: Option<ExitStatus>,
    /// Entry point name → bound address (from worker 0's `listening` line).
    pub addrs: Vec<(String, SocketAddr)>,
    pub config_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts proxyd and waits for `ready workers=`; panics with the log if
    /// it exits or does not get ready in time.
    pub fn start(cfg: &ProxyConfig) -> Proxy {
        Proxy::ready(Proxy::spawn(cfg))
    }

    /// [`Proxy::start`] with RLIMIT_NOFILE set to `nofile` (soft and hard), for
    /// tests at the descriptor limit.
    pub fn start_with_nofile(cfg: &ProxyConfig, nofile: u64) -> Proxy {
        Proxy::ready(Proxy::spawn_with(cfg, Some(nofile)))
    }

    /// [`Proxy::start`] on ports the test chose before (a restart, or a first
    /// start on ports from a `free_port()`): until proxyd binds such a port,
    /// another test's client connection can take it as its ephemeral source
    /// port for a moment, so "already in use" is retried for a few seconds
    /// instead of failing the test (CI saw it once).
    pub fn restart(cfg: &ProxyConfig) -> Proxy {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut p = Proxy::spawn(cfg);
            let ready = Proxy::wait_ready(&mut p);
            let busy = ready == Some(false) && p.log_contains("is already in use");
            if !busy || Instant::now() >= deadline {
                return Proxy::finish_start(p, ready);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn ready(mut p: Proxy) -> Proxy {
        let ready = Proxy::wait_ready(&mut p);
        Proxy::finish_start(p, ready)
    }

    /// `Some(true)`: ready; `Some(false)`: exited; `None`: not in time.
    fn wait_ready(p: &mut Proxy) -> Option<bool> {
        poll_until(START_LIMIT, Duration::from_millis(10), || {
            if p.log_contains("ready workers=") {
                return Some(true);
            }
            if p.try_exit().is_some() {
                return Some(false);
            }
            None
        })
    }

    fn finish_start(mut p: Proxy, ready: Option<bool>) -> Proxy {
        match ready {
            Some(true) => {}
            Some(false) => panic!(
                "proxyd exited during startup ({:?}); log:\n{}",
                p.exit,
                p.log_text()
            ),
            None => panic!(
                "proxyd not ready within {START_LIMIT:?}; log:\n{}",
                p.log_text()
            ),
        }
        for (ep, addr, _) in p.listening() {
            if !p.addrs.iter().any(|(n, _)| *n == ep) {
                p.addrs.push((ep, addr));
            }
        }
        assert!(
            !p.addrs.is_empty(),
            "no `listening` line in log:\n{}",
            p.log_text()
        );
        p
    }

    /// Spawns proxyd without waiting for anything (for tests of failed starts).
    pub fn spawn(cfg: &ProxyConfig) -> Proxy {
        Proxy::spawn_with(cfg, None)
    }

    fn spawn_with(cfg: &ProxyConfig, nofile: Option<u64>) -> Proxy {
        let (dir, file) = cfg.write();
        let mut cmd = Command::new(BIN);
        cmd.arg("--config").arg(&file).args(&cfg.args);
        if let Some(n) = nofile {
            let limit = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: the hook runs in the child between fork and exec and only
            // calls setrlimit(2), which is async-signal-safe, on a value it owns.
            unsafe {
                cmd.pre_exec(move || match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                });
            }
        }
        if let Some(hosts) = &cfg.hosts {
            private_hosts(&mut cmd, hosts);
        }
        cmd.envs(cfg.env.iter().map(|(k, v)| (k, v)));
        cmd.env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn proxyd");
        let stderr = child.stderr.take().expect("stderr pipe");
        let log: Log = Arc::default();
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Proxy {
            child,
            log,
            reader: Some(reader),
            exit: None,
            addrs: Vec::new(),
            config_file: file,
            _dir: dir,
        }
    }

    /// How many file descriptors proxyd holds open now (`/proc/<pid>/fd`).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Waits until proxyd holds at most `n` descriptors; the last count seen.
    pub fn wait_fds_at_most(&self, n: usize, limit: Duration) -> Result<(), usize> {
        let mut last = 0;
        poll_until(limit, Duration::from_millis(10), || {
            last = self.open_fds();
            (last <= n).then_some(())
        })
        .ok_or(last)
    }

    /// Address of entry point `web`.
    pub fn addr(&self) -> SocketAddr {
        self.addr_of("web")
    }

    pub fn addr_of(&self, entry_point: &str) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(n, _)| n == entry_point)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no entry point {entry_point}; log:\n{}", self.log_text()))
    }

    /// The provider directory the dynamic files were written to.
    pub fn dynamic_dir(&self) -> PathBuf {
        self.config_file
            .parent()
            .expect("config file in a directory")
            .join("dynamic")
    }

    /// How many log lines contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits until at least `n` log lines contain `needle`.
    pub fn wait_log_count(&self, needle: &str, n: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(5), || {
            (self.log_count(needle) >= n).then_some(())
        })
        .is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every `listening entrypoint=<n> addr=<a> worker=<i>` line, parsed.
    pub fn listening(&self) -> Vec<(String, SocketAddr, usize)> {
        self.log_lines()
            .iter()
            .filter_map(|l| parse_listening(l))
            .collect()
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(10), || {
            self.log_contains(needle).then_some(())
        })
        .is_some()
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) takes no pointers; the pid is our own child, not yet reaped.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed", self.child.id());
    }

    /// Non-blocking exit check; remembers the status. Once the process has
    /// exited, its last log lines are in the log too: the reader thread can
    /// lag behind the exit, and a test that checks why proxyd exited (or
    /// [`Proxy::restart`] looking for "already in use") must see every line.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait");
            if self.exit.is_some() {
                self.drain_log();
            }
        }
        self.exit
    }

    /// Waits (bounded) for the reader to reach the end of stderr, which comes
    /// once the exited process's descriptors are closed.
    fn drain_log(&mut self) {
        let done = poll_until(DRAIN_LIMIT, Duration::from_millis(5), || {
            self.reader
                .as_ref()
                .is_none_or(|r| r.is_finished())
                .then_some(())
        });
        if done.is_some()
            && let Some(r) = self.reader.take()
        {
            let _ = r.join();
        }
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.try_exit() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resident set size in KiB (`VmRSS` in /proc/<pid>/status).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM of proxyd")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- proxyd log (pid {}) ----\n{}\n---- end proxyd log ----",
                self.child.id(),
                self.log_text()
            );
        }
    }
}

/// Runs the child in a mount namespace of its own (changes private to it)
/// with `hosts` bind-mounted on `/etc/hosts`: getaddrinfo reads that file at
/// each lookup, so rewriting it in place changes what proxyd resolves, and
/// nothing else on the machine sees it. Needs root (CAP_SYS_ADMIN): see
/// [`can_mount`].
fn private_hosts(cmd: &mut Command, hosts: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let src = std::ffi::CString::new(hosts.as_os_str().as_bytes()).expect("hosts path");
    let fail = || Err(std::io::Error::last_os_error());
    // SAFETY: the hook runs in the child between fork and exec and only calls
    // unshare(2) and mount(2), async-signal-safe, on C strings built before.
    unsafe {
        cmd.pre_exec(move || {
            let none = std::ptr::null();
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail();
            }
            let private = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(c"none".as_ptr(), c"/".as_ptr(), none, private, none.cast()) != 0 {
                return fail();
            }
            let to = c"/etc/hosts".as_ptr();
            if libc::mount(src.as_ptr(), to, none, libc::MS_BIND, none.cast()) != 0 {
                return fail();
            }
            Ok(())
        });
    }
}

/// Whether this process may give proxyd a private `/etc/hosts` (it runs as
/// root). CI runs as root: there a test that needs it must not skip.
pub fn can_mount() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root || std::env::var_os("CI").is_none(),
        "CI must run the tests as root (a test bind-mounts a private /etc/hosts)"
    );
    root
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Parses `… listening entrypoint=web addr=127.0.0.1:1234 worker=0 …`.
pub fn parse_listening(line: &str) -> Option<(String, SocketAddr, usize)> {
    let rest = &line[line.find("listening entrypoint=")?..];
    let field = |key: &str| -> Option<&str> {
        let start = rest.find(key)? + key.len();
        let v = &rest[start..];
        Some(v.split_whitespace().next().unwrap_or(""))
    };
    let ep = field("entrypoint=")?.to_string();
    let addr = field("addr=")?.parse().ok()?;
    let worker = field("worker=")?.parse().ok()?;
    Some((ep, addr, worker))
}

/// Runs `proxyd ARGS…` to completion with a deadline (for `check`,
/// `--version` and refused starts). Panics if it does not exit in time.
pub fn run_to_exit(args: &[&str], cwd: Option<&Path>, limit: Duration) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().expect("spawn proxyd");
    // Drain pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let status = poll_until(limit, Duration::from_millis(10), || {
        child.try_wait().expect("try_wait")
    });
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let stderr = t_err.join().unwrap_or_default();
        panic!(
            "proxyd {args:?} still running after {limit:?}; stderr:\n{}",
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}
