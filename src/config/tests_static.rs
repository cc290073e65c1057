//! Tests of `load_static`: defaults, every key, and errors with file and key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn load(text: &str) -> Result<StaticConfig, ConfigErrors> {
    let tmp = tempfile::tempdir().unwrap();
    load_static(&write(tmp.path(), "proxyd.toml", text))
}

fn errors(text: &str) -> Vec<ConfigError> {
    load(text).expect_err("config should be refused").0
}

#[test]
fn defaults() {
    let cfg = load("[entryPoints.web]\naddress = \":8080\"\n").unwrap();
    assert_eq!(cfg.entry_points.len(), 1);
    let ep = &cfg.entry_points[0];
    assert_eq!(ep.name, "web");
    assert_eq!(ep.address, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(ep.read_timeout, Some(DEFAULT_READ_TIMEOUT));
    assert_eq!(ep.write_timeout, None);
    assert_eq!(ep.idle_timeout, Some(DEFAULT_IDLE_TIMEOUT));
    assert_eq!(ep.request_accept_grace_timeout, Duration::ZERO);
    assert_eq!(ep.grace_timeout, DEFAULT_GRACE_TIMEOUT);
    assert!(ep.trusted_ips.is_empty() && !ep.forwarded_insecure);
    assert_eq!(ep.max_header_bytes, DEFAULT_MAX_HEADER_BYTES);
    assert_eq!(ep.max_connections, 0, "no limit");
    assert_eq!(cfg.provider, None);
    let workers = Workers {
        cores: None,
        io_driver: IoDriver::Auto,
        ring_entries: DEFAULT_RING_ENTRIES,
    };
    assert_eq!(cfg.workers, workers);
    assert_eq!(cfg.log_level, DEFAULT_LOG_LEVEL);
}

const FULL: &str = r#"
[entryPoints.web]
address = "127.0.0.1:0"
maxConnections = 1000
  [entryPoints.web.transport.respondingTimeouts]
  readTimeout = "5s"
  writeTimeout = 7
  idleTimeout = "0"
  [entryPoints.web.transport.lifeCycle]
  requestAcceptGraceTimeout = "1m30s"
  graceTimeOut = "250ms"
  [entryPoints.web.forwardedHeaders]
  trustedIPs = ["127.0.0.1/32", "10.0.0.0/8", "::1"]
  insecure = true
  [entryPoints.web.http]
  maxHeaderBytes = 65536
[entryPoints.alt]
address = "[::1]:9090/tcp"
  [entryPoints.alt.transport.respondingTimeouts]
  readTimeout = "0s"
[providers.file]
directory = "dynamic"
watch = false
[workers]
cores = 4
ioDriver = "EPOLL"
ringEntries = 256
[log]
level = "debug"
"#;

#[test]
fn every_key_reaches_the_runtime_type() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "proxyd.toml", FULL);
    let cfg = load_static(&path).unwrap();
    assert_eq!(cfg.source, path);
    let names: Vec<_> = cfg.entry_points.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["alt", "web"], "sorted by name");
    let alt = &cfg.entry_points[0];
    assert_eq!(alt.address, "[::1]:9090".parse().unwrap());
    assert_eq!(alt.read_timeout, None, "0s disables");
    let web = &cfg.entry_points[1];
    assert_eq!(web.address, "127.0.0.1:0".parse().unwrap());
    assert_eq!(web.read_timeout, Some(Duration::from_secs(5)));
    assert_eq!(web.write_timeout, Some(Duration::from_secs(7)));
    assert_eq!(web.idle_timeout, None);
    assert_eq!(web.request_accept_grace_timeout, Duration::from_secs(90));
    assert_eq!(web.grace_timeout, Duration::from_millis(250));
    let nets: Vec<ipnet::IpNet> = ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(web.trusted_ips, nets);
    assert!(web.forwarded_insecure);
    assert_eq!(web.max_header_bytes, 65536);
    assert_eq!(web.max_connections, 1000);
    assert_eq!(alt.max_connections, 0);
    let provider = FileProvider {
        path: tmp.path().join("dynamic"),
        is_directory: true,
        watch: false,
    };
    assert_eq!(cfg.provider, Some(provider));
    let workers = Workers {
        cores: Some(4),
        io_driver: IoDriver::Epoll,
        ring_entries: 256,
    };
    assert_eq!(cfg.workers, workers);
    assert_eq!(cfg.log_level, log::LevelFilter::Debug);
}

#[test]
fn filename_provider_and_absolute_path() {
    let cfg =
        load("[entryPoints.w]\naddress=\":1\"\n[providers.file]\nfilename = \"/etc/d.toml\"\n")
            .unwrap();
    let p = cfg.provider.unwrap();
    assert_eq!(
        (p.path, p.is_directory, p.watch),
        (PathBuf::from("/etc/d.toml"), false, DEFAULT_WATCH)
    );
}

#[test]
fn unknown_key_names_key_and_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(
        tmp.path(),
        "proxyd.toml",
        "[entryPoints.web]\naddress = \":80\"\nbogus = 1\n",
    );
    let errs = load_static(&path).unwrap_err().0;
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].file, path.display().to_string());
    assert_eq!(errs[0].key, "entryPoints.web.bogus (line 3 column 1)");
    assert!(
        errs[0].reason.contains("unknown field `bogus`"),
        "{}",
        errs[0].reason
    );
}

#[test]
fn known_traefik_key_is_not_supported_yet() {
    let errs = errors("[entryPoints.web]\naddress = \":80\"\n[entryPoints.web.http3]\n");
    assert_eq!(errs[0].reason, "`http3` is not supported yet by proxyd");
    assert!(
        errs[0].key.starts_with("entryPoints.web.http3"),
        "{}",
        errs[0].key
    );
}

#[test]
fn unsupported_sections_are_all_reported() {
    let errs = errors("[entryPoints.w]\naddress=\":1\"\n[tracing]\n");
    let keys: Vec<_> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["tracing (line 3 column 2)"]);
    assert!(errs.iter().all(|e| e.reason.contains("not supported yet")));
}

#[test]
fn observability_sections_need_their_entry_point() {
    let errs = errors(
        "[entryPoints.w]\naddress=\":1\"\n[api]\ndashboard = true\n[ping]\n\
         [metrics.prometheus]\nentryPoint = \"admin\"\n[accessLog]\nformat = \"xml\"\n",
    );
    let got: Vec<_> = errs
        .iter()
        .map(|e| (e.key.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "accessLog.format",
                "\"xml\": expected \"common\" or \"json\""
            ),
            (
                "metrics.prometheus.entryPoint",
                "entry point `admin` is not defined in entryPoints"
            ),
            (
                "ping.entryPoint",
                "entry point `traefik` is not defined in entryPoints"
            ),
        ]
    );
}

#[test]
fn observability_sections_parse_with_traefik_keys() {
    let text = "[entryPoints.traefik]\naddress=\":1\"\n[api]\ninsecure = true\n[ping]\n\
                [metrics.prometheus]\nbuckets = [0.5, 1.0]\naddRoutersLabels = true\n\
                [accessLog]\nformat = \"json\"\nbufferingSize = 10\n\
                [accessLog.filters]\nstatusCodes = [\"200\", \"300-302\"]\nretryAttempts = true\n\
                minDuration = \"10ms\"\n[accessLog.fields]\ndefaultMode = \"drop\"\n\
                [accessLog.fields.names]\nClientHost = \"keep\"\n\
                [accessLog.fields.headers.names]\nUser-Agent = \"redact\"\n";
    let cfg = load(text).unwrap().observe;
    let log = cfg.access_log.unwrap();
    assert_eq!(log.status_codes, [(200, 200), (300, 302)]);
    assert_eq!(log.buffering_size, 10);
    assert!(log.field_kept("ClientHost") && !log.field_kept("RequestPath"));
    assert!(log.keep(301, 0, std::time::Duration::ZERO));
    assert!(!log.keep(404, 0, std::time::Duration::ZERO));
    assert!(log.keep(404, 1, std::time::Duration::ZERO));
    let prom = cfg.prometheus.unwrap();
    assert_eq!(prom.buckets, [0.5, 1.0]);
    assert_eq!(prom.entry_point, "traefik");
    assert!(prom.routers_labels);
    assert!(cfg.api.unwrap().insecure);
    assert_eq!(cfg.ping.unwrap().terminating_status_code, 503);
}

#[test]
fn syntax_error_has_line_and_column() {
    let errs = errors("[entryPoints.web]\naddress = \":80\"\nreadTimeout = = 3\n");
    assert!(errs[0].key.contains("line 3 column"), "{:?}", errs[0]);
}

#[test]
fn type_error_names_key() {
    let errs = errors("[entryPoints.web]\naddress = 80\n");
    assert_eq!(errs[0].key, "entryPoints.web.address (line 2 column 11)");
    let errs = errors(
        "[entryPoints.web]\naddress = \":80\"\n[entryPoints.web.transport.respondingTimeouts]\nreadTimeout = \"10 parsecs\"\n",
    );
    assert!(
        errs[0]
            .key
            .starts_with("entryPoints.web.transport.respondingTimeouts.readTimeout")
    );
    assert!(
        errs[0].reason.contains("invalid duration"),
        "{}",
        errs[0].reason
    );
}

#[test]
fn validation_errors_are_collected() {
    let errs = errors(
        r#"
[entryPoints.a]
address = "nowhere"
[entryPoints.b]
address = ":80"
[entryPoints.c]
address = "0.0.0.0:80"
[entryPoints.d]
address = ":53/udp"
[entryPoints.e]
[entryPoints.b.forwardedHeaders]
trustedIPs = ["10.0.0.0/33"]
[entryPoints.b.http]
maxHeaderBytes = 0
[providers.file]
directory = "d"
filename = "f"
[workers]
cores = 0
ioDriver = "kqueue"
ringEntries = 1000
[log]
level = "LOUD"
"#,
    );
    let keys: Vec<_> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "entryPoints.a.address",
            "entryPoints.b.forwardedHeaders.trustedIPs",
            "entryPoints.b.http.maxHeaderBytes",
            "entryPoints.d.address",
            "entryPoints.e.address",
            "entryPoints.c.address",
            "providers.file",
            "workers.cores",
            "workers.ioDriver",
            "workers.ringEntries",
            "log.level",
        ]
    );
    assert!(
        errs[5].reason.contains("entry point `b`"),
        "{}",
        errs[5].reason
    );
}

#[test]
fn entry_points_required_and_unreadable_file() {
    assert_eq!(errors("")[0].key, "entryPoints");
    let errs = load_static(Path::new("/nonexistent/proxyd.toml"))
        .unwrap_err()
        .0;
    assert!(errs[0].reason.contains("cannot read"));
}

#[test]
fn addresses() {
    use static_cfg::parse_address as p;
    assert_eq!(p(":0"), Ok("0.0.0.0:0".parse().unwrap()));
    assert_eq!(p("127.0.0.1:8080"), Ok("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(p("[::1]:8080"), Ok("[::1]:8080".parse().unwrap()));
    for bad in [
        "",
        ":",
        ":http",
        ":65536",
        "localhost:80",
        "1.2.3.4",
        "[::1]",
    ] {
        assert!(p(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn log_levels_are_traefiks() {
    use log::LevelFilter::*;
    let want = [
        ("trace", Trace),
        ("DEBUG", Debug),
        ("Info", Info),
        ("WARN", Warn),
        ("error", Error),
        ("FATAL", Error),
        ("panic", Error),
    ];
    for (name, level) in want {
        assert_eq!(static_cfg::log_level(name), Ok(level));
    }
    assert!(static_cfg::log_level("warning").is_err());
}

#[test]
fn shipped_static_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/proxyd.toml");
    let cfg = load_static(&path).unwrap_or_else(|e| panic!("{e}"));
    let web = cfg
        .entry_points
        .iter()
        .find(|e| e.name == "web")
        .expect("entry point web");
    assert_eq!(web.address.port(), 8080);
    let provider = cfg.provider.expect("file provider");
    assert!(provider.is_directory && provider.path.is_dir());
}

#[test]
fn negative_max_connections_names_the_key() {
    let errs = errors("[entryPoints.web]\naddress = \":80\"\nmaxConnections = -1\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].key.contains("maxConnections"), "{:?}", errs[0]);
}
