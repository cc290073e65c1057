//! Tests of the dynamic pipeline through `compile::resolve` (everything but rule
//! parsing): routers, services and transports reach their runtime types. Also
//! the helpers shared with `tests_dynamic_errors` and `tests_snapshot`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::compile::{Resolved, resolve};
use super::*;

pub(super) struct Setup {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub st: StaticConfig,
}

pub(super) fn entry_point(name: &str) -> EntryPoint {
    let st = static_cfg_for("127.0.0.1:0");
    EntryPoint {
        name: name.into(),
        ..st
    }
}

pub(super) fn static_cfg_for(addr: &str) -> EntryPoint {
    EntryPoint {
        name: String::new(),
        address: addr.parse().unwrap(),
        read_timeout: None,
        write_timeout: None,
        idle_timeout: None,
        request_accept_grace_timeout: Duration::ZERO,
        grace_timeout: Duration::ZERO,
        trusted_ips: vec![],
        forwarded_insecure: false,
        max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        max_connections: 0,
        http2_max_streams: 250,
        http2_decoder_table: 4096,
        max_request_body_bytes: None,
        http_tls: None,
        redirect: None,
        middlewares: vec![],
    }
}

/// Writes `files` under a temp provider directory; entry points `admin`, `web`.
pub(super) fn setup(files: &[(&str, &str)]) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dynamic");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let st = StaticConfig {
        source: tmp.path().join("proxyd.toml"),
        entry_points: vec![entry_point("admin"), entry_point("web")],
        provider: Some(FileProvider {
            path: dir.clone(),
            is_directory: true,
            watch: false,
        }),
        kv: Vec::new(),
        providers_throttle: DEFAULT_PROVIDERS_THROTTLE,
        workers: Workers {
            cores: None,
            io_driver: IoDriver::Auto,
            ring_entries: DEFAULT_RING_ENTRIES,
        },
        log_level: DEFAULT_LOG_LEVEL,
        observe: Default::default(),
        cert_resolvers: Vec::new(),
    };
    Setup { _tmp: tmp, dir, st }
}

pub(super) fn resolved(st: &StaticConfig) -> (Resolved, Vec<ConfigError>) {
    let files = provider::read(st.provider.as_ref());
    let mut errors = files.errors;
    let r = resolve(st, files.files, &files.extra, &mut errors);
    (r, errors)
}

pub(super) fn ok(st: &StaticConfig) -> Resolved {
    let (r, errors) = resolved(st);
    assert!(errors.is_empty(), "{}", ConfigErrors(errors));
    r
}

pub(super) fn errs(files: &[(&str, &str)]) -> (Setup, Vec<ConfigError>) {
    let s = setup(files);
    let (_, errors) = resolved(&s.st);
    assert!(!errors.is_empty(), "expected errors");
    (s, errors)
}

pub(super) fn file(s: &Setup, name: &str) -> String {
    s.dir.join(name).display().to_string()
}

pub(super) const APP: &str = r#"
[http.routers.app]
rule = "Host(`example.com`) && PathPrefix(`/api`)"
service = "app@file"
entryPoints = ["web"]
[http.routers.who]
rule = "PathPrefix(`/`)"
service = "whoami@internal"
priority = -5
[http.routers.who2]
rule = "Path(`/who`)"
service = "whoami@internal"
priority = 0
[http.services.app.loadBalancer]
passHostHeader = false
serversTransport = "fast"
  [[http.services.app.loadBalancer.servers]]
  url = "http://127.0.0.1:9000/base/"
  weight = 3
  preservePath = true
  [[http.services.app.loadBalancer.servers]]
  url = "http://[::1]:9001"
  weight = 0
[http.serversTransports.fast]
maxIdleConnsPerHost = 0
  [http.serversTransports.fast.forwardingTimeouts]
  dialTimeout = "2s"
  responseHeaderTimeout = "1500ms"
  idleConnTimeout = 30
  readTimeout = "5s"
  writeTimeout = 0
"#;

#[test]
fn routers_resolve_with_traefik_defaults() {
    let s = setup(&[("app.toml", APP)]);
    let r = ok(&s.st);
    let names: Vec<_> = r.routers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["app@file", "who@file", "who2@file"]);
    let app = &r.routers[0];
    assert_eq!(app.rule, "Host(`example.com`) && PathPrefix(`/api`)");
    assert_eq!(app.priority, app.rule.len() as i64);
    assert_eq!(app.entry_points, ["web"]);
    assert_eq!(r.services[app.service].name, "app@file");
    assert_eq!(r.routers[1].priority, -5);
    assert_eq!(
        r.routers[1].entry_points,
        ["admin", "web"],
        "default: all entry points"
    );
    assert_eq!(
        r.routers[2].priority,
        "Path(`/who`)".len() as i64,
        "0 means default"
    );
    let who = &r.services[r.routers[1].service];
    assert_eq!(
        (who.name.as_str(), &who.kind),
        ("whoami@internal", &ServiceKind::Whoami)
    );
    assert_eq!(
        r.routers[1].service, r.routers[2].service,
        "one whoami service"
    );
    assert_eq!(r.services.len(), 2);
}

#[test]
fn load_balancer_keys_reach_runtime_type() {
    let s = setup(&[("app.toml", APP)]);
    let r = ok(&s.st);
    let ServiceKind::LoadBalancer(lb) = &r.services[r.routers[0].service].kind else {
        panic!("not a load balancer")
    };
    assert!(!lb.pass_host_header);
    let transport = ServersTransport {
        name: "fast@file".into(),
        dial_timeout: Duration::from_secs(2),
        response_header_timeout: Some(Duration::from_millis(1500)),
        read_timeout: Some(Duration::from_secs(5)),
        write_timeout: None,
        idle_conn_timeout: Duration::from_secs(30),
        max_idle_conns_per_host: 0,
        tls: None,
    };
    assert_eq!(lb.transport, transport);
    let first = Server {
        url: "http://127.0.0.1:9000/base/".into(),
        addr: "127.0.0.1:9000".parse().unwrap(),
        authority: "127.0.0.1:9000".into(),
        path_prefix: "/base".into(),
        weight: 3,
        // A flag is equal only to itself (`Health: PartialEq`).
        health: lb.servers[0].health.clone(),
        tls: None,
        h2c: false,
    };
    assert_eq!(lb.servers[0], first);
    assert_eq!(lb.servers[1].addr, "[::1]:9001".parse().unwrap());
    assert_eq!(
        (lb.servers[1].authority.as_str(), lb.servers[1].weight),
        ("[::1]:9001", 0)
    );
}

#[test]
fn load_balancer_defaults() {
    let text = "[http.services.s.loadBalancer]\nservers = [{ url = \"http://localhost\" }]\n";
    let r = ok(&setup(&[("s.toml", text)]).st);
    let ServiceKind::LoadBalancer(lb) = &r.services[0].kind else {
        panic!()
    };
    assert!(lb.pass_host_header);
    assert_eq!(lb.transport, transports::default_transport());
    assert_eq!(lb.transport.name, "default@internal");
    // nginx's proxy_read_timeout and proxy_send_timeout.
    let minute = Some(Duration::from_secs(60));
    assert_eq!(
        (lb.transport.read_timeout, lb.transport.write_timeout),
        (minute, minute)
    );
    assert_eq!((lb.servers[0].weight, lb.servers[0].addr.port()), (1, 80));
}

#[test]
fn respond_service() {
    let text = r#"
[http.services.full.respond]
status = 503
contentType = "application/json"
body = "{}"
[http.services.bare.respond]
"#;
    let r = ok(&setup(&[("r.toml", text)]).st);
    let kinds: Vec<_> = r
        .services
        .iter()
        .map(|s| (s.name.as_str(), &s.kind))
        .collect();
    let bare = Respond {
        status: 200,
        content_type: DEFAULT_RESPOND_CONTENT_TYPE.into(),
        body: vec![],
    };
    let full = Respond {
        status: 503,
        content_type: "application/json".into(),
        body: b"{}".to_vec(),
    };
    assert_eq!(
        kinds,
        [
            ("bare@file", &ServiceKind::Respond(bare)),
            ("full@file", &ServiceKind::Respond(full))
        ]
    );
}

#[test]
fn shipped_dynamic_config_resolves() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/proxyd.toml");
    let st = load_static(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = ok(&st);
    let kinds: Vec<_> = r
        .routers
        .iter()
        .map(|x| (x.name.as_str(), &r.services[x.service].kind))
        .collect();
    assert!(kinds.iter().any(|(_, k)| **k == ServiceKind::Whoami));
    assert!(
        kinds
            .iter()
            .any(|(n, k)| *n == "hello@file" && matches!(k, ServiceKind::Respond(_)))
    );
    assert!(
        kinds
            .iter()
            .any(|(_, k)| matches!(k, ServiceKind::LoadBalancer(_)))
    );
}

#[test]
fn load_balancer_without_usable_servers_is_accepted() {
    let text = r#"
[http.services.empty.loadBalancer]
[http.services.zero.loadBalancer]
servers = [{ url = "http://127.0.0.1:1", weight = 0 }]
"#;
    let s = setup(&[("lb.toml", text)]);
    let r = ok(&s.st);
    let lb = |i: usize| match &r.services[i].kind {
        ServiceKind::LoadBalancer(lb) => lb.clone(),
        other => panic!("{other:?}"),
    };
    assert!(lb(0).servers.is_empty());
    assert_eq!(lb(1).servers[0].weight, 0);
}

/// Traefik v3 sends the request's own path: a server URL's path is joined in
/// front of it only with `preservePath = true`.
#[test]
fn server_url_path_is_used_only_with_preserve_path() {
    let text = "[http.services.s.loadBalancer]\n\
         [[http.services.s.loadBalancer.servers]]\nurl = \"http://127.0.0.1:9000/base\"\n\
         [[http.services.s.loadBalancer.servers]]\nurl = \"http://127.0.0.1:9001/base\"\npreservePath = true\n\
         [http.routers.r]\nrule = \"PathPrefix(`/`)\"\nservice = \"s\"\n";
    let s = setup(&[("s.toml", text)]);
    let r = ok(&s.st);
    let ServiceKind::LoadBalancer(lb) = &r.services[0].kind else {
        panic!("not a load balancer");
    };
    assert_eq!(lb.servers[0].path_prefix, "");
    assert_eq!(lb.servers[1].path_prefix, "/base");
}

#[test]
fn flush_interval_accepts_durations_and_negative_values_and_names_a_bad_one() {
    for v in ["\"100ms\"", "\"-1\"", "-1", "0", "\"1s\""] {
        let text = format!(
            "[http.services.s.loadBalancer]\nresponseForwarding.flushInterval = {v}\n\
             [[http.services.s.loadBalancer.servers]]\nurl = \"http://127.0.0.1:9000\"\n"
        );
        let s = setup(&[("s.toml", &text)]);
        ok(&s.st);
    }
    let (_, errors) = errs(&[(
        "s.toml",
        "[http.services.s.loadBalancer]\nresponseForwarding.flushInterval = \"soon\"\n",
    )]);
    let text = ConfigErrors(errors).to_string();
    assert!(
        text.contains("http.services.s.loadBalancer.responseForwarding.flushInterval"),
        "{text}"
    );
}
