//! HTTP/2 from clients: curl (`--http2` over TLS, `--http2-prior-knowledge`)
//! and nghttp through routers, middlewares and HTTP/1.1 upstreams, large
//! bodies with bounded memory, ALPN, and the attack limits (`h2/frames.rs`
//! drives raw frames). Needs Debian's `curl` and `nghttp2-client`.

mod attacks;
mod frames;
mod middlewares;
mod rate_limit;
mod response_middlewares;
mod trailers;

use std::process::Command;
use std::time::Duration;

use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::tls::{Site, certs_toml, start_with};

/// Runs curl with a time limit; returns (stdout, stderr). curl's `-w` output
/// ends stdout.
pub fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .output()
        .expect("curl (Debian package curl) must be installed");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Router `app` (Host app.test or a.test, with a headers middleware) to `up`.
fn app_with_middleware(up: &Upstream, tls: bool) -> String {
    let mut s = router("app", "Host(`app.test`) || Host(`a.test`)", "app");
    s.push_str("middlewares = [\"hdr\"]\n");
    if tls {
        s.push_str("[http.routers.app.tls]\n");
    }
    s.push_str(
        "[http.middlewares.hdr.headers.customRequestHeaders]\nX-Mw = \"in\"\n\
         [http.middlewares.hdr.headers.customResponseHeaders]\nX-Mw-Out = \"out\"\n",
    );
    s.push_str(&lb_service("app", &[up.url()]));
    s
}

/// What curl printed with `-D -` (headers) and `-w` (version, status).
fn check_h2_response(out: &str) {
    assert!(out.contains("x-mw-out: out"), "response edits: {out}");
    assert!(
        !out.to_ascii_lowercase().contains("connection:"),
        "no connection-specific field on HTTP/2: {out}"
    );
    assert!(out.ends_with("\n2 200"), "HTTP/2 and 200: {out}");
}

#[test]
fn curl_http2_over_tls_reaches_an_http1_upstream_through_a_middleware() {
    let up = Upstream::start(
        "up",
        Behavior::fixed(200, b"hello").header("Connection", "keep-alive"),
    );
    let site = Site::new();
    let p = start_with(
        &site,
        &(app_with_middleware(&up, true) + &certs_toml(true)),
        |c| c,
    );
    let port = p.addr().port();
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = format!("https://a.test:{port}/x?y=1");
    let (out, err) = curl(&[
        "--http2",
        "-k",
        "--resolve",
        &resolve,
        "-D",
        "-",
        "-H",
        "te: trailers",
        "-H",
        "cookie: a=1",
        "-H",
        "cookie: b=2",
        "-w",
        "\n%{http_version} %{http_code}",
        &url,
    ]);
    check_h2_response(&out);
    assert!(out.contains("hello"), "{out} {err}");
    let seen = up.only_request();
    assert_eq!(seen.request_line(), "GET /x?y=1 HTTP/1.1");
    assert_eq!(seen.header("host"), Some(format!("a.test:{port}").as_str()));
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-mw"), Some("in"));
    assert_eq!(seen.headers_named("cookie"), ["a=1; b=2"]);
    assert_eq!(seen.header("te"), Some("trailers"), "kept, as in Traefik");
}

#[test]
fn h2c_prior_knowledge_and_http1_share_an_entry_point() {
    let up = Upstream::echo("up");
    let p = Proxy::start(&ProxyConfig::new(&app_with_middleware(&up, false)));
    let url = format!("http://{}/p", p.addr());
    let (out, err) = curl(&[
        "--http2-prior-knowledge",
        "-H",
        "Host: app.test",
        "-D",
        "-",
        "-w",
        "\n%{http_version} %{http_code}",
        &url,
    ]);
    check_h2_response(&out);
    let seen = up.only_request();
    assert_eq!(seen.header("host"), Some("app.test"), "{err}");
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-forwarded-host"), Some("app.test"));
    // HTTP/1.1 on the same entry point still works.
    let r = crate::common::client::get(p.addr(), "app.test", "/h1");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-mw-out"), Some("out"));
}

#[test]
fn local_answers_and_errors_go_out_as_http2() {
    let dynamic = format!(
        "{}{}",
        router("w", "PathPrefix(`/who`)", "whoami@internal"),
        router("gone", "PathPrefix(`/gone`)", "nothing"),
    ) + &lb_service("nothing", &[]);
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let base = format!("http://{}", p.addr());
    let w = [
        "--http2-prior-knowledge",
        "-w",
        "\n%{http_version} %{http_code}",
    ];
    let (out, _) = curl(&[&w[..], &[&format!("{base}/who")]].concat());
    assert!(out.contains("GET /who HTTP/2.0"), "{out}");
    assert!(out.ends_with("\n2 200"), "{out}");
    let (out, _) = curl(&[&w[..], &[&format!("{base}/none")]].concat());
    assert!(out.ends_with("404 page not found\n\n2 404"), "{out}");
    let (out, _) = curl(&[&w[..], &[&format!("{base}/gone")]].concat());
    assert!(out.ends_with("\n2 503"), "{out}");
}

#[test]
fn alpn_http1_only_never_agrees_h2() {
    let up = Upstream::echo("up");
    let site = Site::new();
    let opts = "[tls.options.default]\nalpnProtocols = [\"http/1.1\"]\n";
    let dynamic = app_with_middleware(&up, true) + &certs_toml(true) + opts;
    let p = start_with(&site, &dynamic, |c| c);
    let port = p.addr().port();
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = format!("https://a.test:{port}/");
    let w = "%{http_version} %{http_code}";
    let (out, err) = curl(&[
        "--http2",
        "-k",
        "--resolve",
        &resolve,
        "-o",
        "/dev/null",
        "-w",
        w,
        &url,
    ]);
    assert_eq!(out, "1.1 200", "{err}");
    // Without alpnProtocols, Traefik's default list applies: h2 first.
    let p2 = start_with(
        &site,
        &(app_with_middleware(&up, true) + &certs_toml(true)),
        |c| c,
    );
    let port = p2.addr().port();
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = format!("https://a.test:{port}/");
    let (out, err) = curl(&[
        "--http2",
        "-k",
        "--resolve",
        &resolve,
        "-o",
        "/dev/null",
        "-w",
        w,
        &url,
    ]);
    assert_eq!(out, "2 200", "{err}");
}

#[test]
fn nghttp_runs_100_concurrent_streams_on_one_connection() {
    let up = Upstream::start(
        "up",
        Behavior::fixed(200, b"ok").delay(Duration::from_millis(20)),
    );
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let url = format!("http://{}/s", p.addr());
    let out = Command::new("timeout")
        .args(["60", "nghttp", "-nv", "-m", "100", &url])
        .output()
        .expect("nghttp (Debian package nghttp2-client) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let ok = text.matches(":status: 200").count();
    assert_eq!(ok, 100, "{}", &text[text.len().saturating_sub(2000)..]);
    // One client connection; the upstream saw every request.
    assert!(up.wait_requests(100, Duration::from_secs(10)));
    assert!(
        text.contains("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):250"),
        "Traefik's default"
    );
}

#[test]
fn a_100_mb_body_each_way_streams_with_bounded_memory() {
    const LEN: u64 = 100 * 1024 * 1024;
    let up = Upstream::start("up", Behavior::pattern(LEN));
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("up.bin");
    let mut data = Vec::with_capacity(LEN as usize);
    let mut pat = Pattern::new(LEN);
    while let Some(c) = pat.next_chunk() {
        data.extend_from_slice(c);
    }
    std::fs::write(&file, &data).unwrap();
    drop(data);
    let before = p.rss_kib().unwrap();
    let url = format!("http://{}/big", p.addr());
    let upload = format!("@{}", file.display());
    let child = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "120",
            "--http2-prior-knowledge",
            "--data-binary",
        ])
        .args([
            upload.as_str(),
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code} %{size_download}",
            &url,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, format!("2 200 {LEN}"));
    let seen = up.only_request();
    assert_eq!(seen.body_len, LEN);
    assert_eq!(seen.body_fnv, Pattern::fnv(LEN));
    let peak = p.peak_rss_kib();
    assert!(
        peak < before + 40 * 1024,
        "RSS grew from {before} KiB to {peak} KiB for a 100 MiB body each way"
    );
}

/// Regression: an HTTP/2 stream once went past forwardAuth unchecked (the
/// chain's call to the auth server was made by HTTP/1.1 connections only).
#[test]
fn forward_auth_guards_http2_requests() {
    let deny = Upstream::start("deny", Behavior::fixed(401, b"go away"));
    let allow = Upstream::start(
        "allow",
        Behavior::fixed(200, b"ok").header("X-Auth-User", "alice"),
    );
    let app = Upstream::echo("app");
    let mut cfg = String::new();
    for (name, auth) in [("closed", &deny), ("open", &allow)] {
        cfg.push_str(&router(name, &format!("Host(`{name}.test`)"), "app"));
        cfg.push_str(&format!(
            "middlewares = [\"{name}\"]\n[http.middlewares.{name}.forwardAuth]\n\
             address = \"{}\"\nauthResponseHeaders = [\"X-Auth-User\"]\n",
            auth.url()
        ));
    }
    cfg.push_str(&lb_service("app", &[app.url()]));
    let p = Proxy::start(&ProxyConfig::new(&cfg));
    let url = format!("http://{}/p", p.addr());
    let get = |host: &str| {
        curl(&[
            "--http2-prior-knowledge",
            "-H",
            &format!("Host: {host}"),
            "-w",
            "\n%{http_version} %{http_code}",
            &url,
        ])
    };
    let (out, err) = get("closed.test");
    assert!(out.ends_with("go away\n2 401"), "{out} {err}");
    assert!(
        app.requests().is_empty(),
        "a refused stream reached the app"
    );
    let (out, err) = get("open.test");
    assert!(out.ends_with("\n2 200"), "{out} {err}");
    assert_eq!(app.only_request().header("x-auth-user"), Some("alice"));
    assert_eq!(deny.requests().len(), 1);
}

/// HPACK bombs and CONTINUATION floods: the decoded field list is bounded by
/// `maxHeaderBytes`, as an HTTP/1.1 head is. A larger one is refused (431)
/// and proxyd goes on serving.
#[test]
fn a_header_list_over_max_header_bytes_is_refused() {
    let dynamic = router("w", "PathPrefix(`/`)", "whoami@internal");
    let cfg = ProxyConfig::new(&dynamic).web(|ep| ep.max_header_bytes = Some(4096));
    let p = Proxy::start(&cfg);
    let url = format!("http://{}/", p.addr());
    let big = format!("x-big: {}", "a".repeat(8192));
    let h2c = [
        "--http2-prior-knowledge",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ];
    let (out, err) = curl(&[&h2c[..], &["-H", &big, &url]].concat());
    assert_eq!(out, "431", "{err}");
    // proxyd goes on serving.
    let (out, err) = curl(&[&h2c[..], &[url.as_str()]].concat());
    assert_eq!(out, "200", "{err}");
}

/// 103 Early Hints from an HTTP/1.1 upstream reach an HTTP/2 client before
/// the response, fields included, as Traefik (Go's reverse proxy) relays them.
#[test]
fn early_hints_from_an_http1_upstream_reach_http2_clients() {
    let up = Upstream::start("up", Behavior::fixed(200, b"ok").interim(103));
    let dynamic = router("r", "PathPrefix(`/`)", "app") + &lb_service("app", &[up.url()]);
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    let url = format!("http://{}/", p.addr());
    let (out, err) = curl(&[
        "--http2-prior-knowledge",
        "-D",
        "-",
        "-o",
        "/dev/null",
        &url,
    ]);
    let lower = out.to_ascii_lowercase();
    let hints = lower
        .find("http/2 103")
        .unwrap_or_else(|| panic!("{out} {err}"));
    let last = lower
        .find("http/2 200")
        .unwrap_or_else(|| panic!("{out} {err}"));
    assert!(hints < last, "{out}");
    assert!(
        lower[hints..last].contains("link: </style.css>; rel=preload"),
        "{out}"
    );
}
