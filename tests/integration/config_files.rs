//! `proxyd check`: the shipped config passes; broken files fail with
//! `FILE: KEY: REASON` lines naming the file and the key.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::common::config::app;
use crate::common::proxy::run_to_exit;
use crate::common::*;

fn check(file: &Path, cwd: Option<&Path>) -> Output {
    run_to_exit(
        &["check", "--config", file.to_str().unwrap()],
        cwd,
        Duration::from_secs(15),
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Writes `cfg`, runs `check`, expects failure; returns stderr.
fn check_fails(cfg: &ProxyConfig) -> String {
    let (_dir, file) = cfg.write();
    let out = check(&file, None);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "check accepted a broken config; stderr:\n{err}"
    );
    err
}

#[test]
fn check_shipped_config_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("config/proxyd.toml");
    assert!(file.is_file(), "shipped config {} missing", file.display());
    assert!(
        root.join("config/dynamic").is_dir(),
        "config/dynamic missing"
    );
    let out = check(&file, Some(root));
    assert!(
        out.status.success(),
        "shipped config rejected:\n{}",
        stderr(&out)
    );
    // From another working directory too: relative paths resolve against the
    // config file, not the cwd.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = check(&file, Some(elsewhere.path()));
    assert!(
        out.status.success(),
        "shipped config rejected from another cwd:\n{}",
        stderr(&out)
    );
}

#[test]
fn check_generated_valid_config_passes() {
    let cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()])).web(|ep| {
        ep.read_timeout = Some("5s".into());
        ep.idle_timeout = Some("30s".into());
        ep.grace_timeout = Some("10s".into());
        ep.trusted_ips = Some(vec!["10.0.0.0/8".into()]);
        ep.insecure = Some(false);
        ep.max_header_bytes = Some(8192);
    });
    let (_dir, file) = cfg.write();
    let out = check(&file, None);
    assert!(
        out.status.success(),
        "valid config rejected:\n{}",
        stderr(&out)
    );
}

#[test]
fn check_unknown_key_in_dynamic_file_fails_naming_file_and_key() {
    let mut cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]));
    cfg.dynamic.push((
        "broken.toml".into(),
        "[http.routers.other]\nrule = 'Host(`o.test`)'\nservice = \"app\"\nbogusKey = 1\n".into(),
    ));
    let err = check_fails(&cfg);
    assert!(err.contains("broken.toml"), "file not named: {err}");
    assert!(err.contains("bogusKey"), "key not named: {err}");
}

#[test]
fn check_router_with_missing_service_fails_naming_file_and_key() {
    let mut cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]));
    cfg.dynamic.push((
        "dangling.toml".into(),
        "[http.routers.dangling]\nrule = 'Host(`d.test`)'\nservice = \"nope\"\n".into(),
    ));
    let err = check_fails(&cfg);
    let line = err
        .lines()
        .find(|l| l.contains("dangling.toml"))
        .unwrap_or_else(|| panic!("no error line naming dangling.toml: {err}"));
    assert!(line.contains("routers.dangling"), "key not named: {line}");
    assert!(line.contains("nope"), "missing service not named: {line}");
}

#[test]
fn check_unknown_key_in_static_file_fails() {
    let cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]));
    let (_dir, file) = cfg.write();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text = text.replacen("address = ", "adress = \"x\"\naddress = ", 1);
    std::fs::write(&file, text).unwrap();
    let out = check(&file, None);
    let err = stderr(&out);
    assert!(!out.status.success(), "typo accepted: {err}");
    assert!(err.contains("proxyd.toml"), "file not named: {err}");
    assert!(err.contains("adress"), "key not named: {err}");
}

#[test]
fn check_bad_rule_syntax_fails() {
    let cfg = ProxyConfig::new(
        "[http.routers.bad]\nrule = 'Host(`a.test` && Path(`/`)'\nservice = \"s\"\n\
         [http.services.s.loadBalancer]\n[[http.services.s.loadBalancer.servers]]\n\
         url = \"http://127.0.0.1:9\"\n",
    );
    let err = check_fails(&cfg);
    assert!(err.contains("dynamic.toml"), "file not named: {err}");
    assert!(err.contains("routers.bad"), "key not named: {err}");
}

#[test]
fn check_bad_duration_fails() {
    let cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]))
        .web(|ep| ep.read_timeout = Some("five seconds".into()));
    let err = check_fails(&cfg);
    assert!(err.contains("readTimeout"), "key not named: {err}");
}

#[test]
fn check_reports_every_error() {
    let mut cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]));
    cfg.dynamic.push((
        "two.toml".into(),
        "[http.routers.r1]\nrule = 'Host(`1.test`)'\nservice = \"missing1\"\n\
         [http.routers.r2]\nrule = 'Host(`2.test`)'\nservice = \"missing2\"\n"
            .into(),
    ));
    let err = check_fails(&cfg);
    assert!(
        err.contains("missing1") && err.contains("missing2"),
        "{err}"
    );
}

#[test]
fn check_reports_every_error_in_every_file_of_the_directory() {
    let cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]));
    let broken = [
        (
            "a_syntax.toml",
            "[http.routers.x\nrule = 'Host(`x.test`)'\n",
        ),
        (
            "b_unknown.toml",
            "[http.routers.y]\nrule = 'Host(`y.test`)'\nservice = \"app\"\nbogusKey = 1\n",
        ),
        (
            "c_dangling.toml",
            "[http.routers.z]\nrule = 'Host(`z.test`)'\nservice = \"nope\"\n",
        ),
        (
            "sub/d_rule.toml",
            "[http.routers.w]\nrule = 'Host(`w.test` && Path(`/`)'\nservice = \"app\"\n",
        ),
    ];
    let (_dir, file) = cfg.write();
    let dynamic = file.parent().unwrap().join("dynamic");
    std::fs::create_dir(dynamic.join("sub")).unwrap();
    for (name, text) in broken {
        std::fs::write(dynamic.join(name), text).unwrap();
    }
    let out = check(&file, None);
    let err = stderr(&out);
    assert!(!out.status.success(), "broken directory accepted: {err}");
    let expect = [
        ("a_syntax.toml", "http.routers.x (line 1 column 16)"),
        (
            "b_unknown.toml",
            "http.routers.y.bogusKey (line 4 column 1)",
        ),
        ("c_dangling.toml", "http.routers.z.service"),
        ("d_rule.toml", "http.routers.w.rule"),
    ];
    for (name, key) in expect {
        let line = err
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not reported:\n{err}"));
        assert!(line.contains(key), "{key} missing: {line}");
    }
}

/// Every unknown or unsupported key of a file is listed, one line each with
/// file, full key, line:column and reason; "not supported yet" only where
/// Traefik has the key.
#[test]
fn check_lists_every_unknown_and_unsupported_key_of_a_file() {
    let mut cfg = ProxyConfig::new(&app(&["http://127.0.0.1:9".to_string()]));
    let text = "\
[http.routers.k]
rule = 'Host(`k.test`)'
service = \"app\"
sticky = true
[http.services.s]
highestRandomWeight.services = []
[[http.services.s.loadBalancer.servers]]
url = \"http://127.0.0.1:9\"
wieght = 2
[http.serversTransports.t]
spiffe = {}
";
    cfg.dynamic.push(("keys.toml".into(), text.into()));
    let err = check_fails(&cfg);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("keys.toml")).collect();
    let file = lines
        .first()
        .and_then(|l| l.split(": ").next())
        .unwrap_or_else(|| panic!("keys.toml not reported:\n{err}"));
    let expect = [
        (
            "http.routers.k.sticky (line 4 column 1)",
            "unknown field `sticky`, expected one of `rule`,",
        ),
        (
            "http.services.s.highestRandomWeight (line 6 column 1)",
            "`highestRandomWeight` is not supported yet by proxyd",
        ),
        (
            "http.services.s.loadBalancer.servers[0].wieght (line 9 column 1)",
            "unknown field `wieght`, expected one of `url`, `weight`, `preservePath`",
        ),
        (
            "http.serversTransports.t.spiffe (line 11 column 1)",
            "`spiffe` is not supported yet by proxyd",
        ),
    ];
    assert_eq!(lines.len(), expect.len(), "{err}");
    for (line, (key, reason)) in lines.iter().zip(expect) {
        let want = format!("{file}: {key}: {reason}");
        assert!(line.starts_with(&want), "{want:?} in:\n{line}");
    }
}
