//! The response side of `compress` and `errors` on HTTP/2 streams (#13):
//! curl over TLS (`--http2`) and h2c (`--http2-prior-knowledge`) gets a gzip
//! body that decodes to the original, with `Vary: Accept-Encoding` and no
//! Content-Length, and an `errors` page with `{status}` for a caught upstream
//! status and for the proxy's own 502.

use std::path::Path;

use super::curl;
use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::middlewares_compress::{decode, text};
use crate::tls::{Site, certs_toml, start_with};

/// curl over HTTP/2 (TLS for an `https` URL, else prior knowledge) with
/// `args`: the response's header block and body, saved raw.
fn fetch(p: &Proxy, tls: bool, path: &str, args: &[&str], dir: &Path) -> (String, Vec<u8>) {
    let port = p.addr().port();
    let (hdrs, body) = (dir.join("headers"), dir.join("body"));
    let resolve = format!("app.test:{port}:127.0.0.1");
    let url = match tls {
        true => format!("https://app.test:{port}{path}"),
        false => format!("http://{}{path}", p.addr()),
    };
    let mut all = match tls {
        true => vec!["--http2", "-k", "--resolve", &resolve],
        false => vec!["--http2-prior-knowledge", "-H", "Host: app.test"],
    };
    all.extend_from_slice(args);
    let (h, b) = (hdrs.to_str().unwrap(), body.to_str().unwrap());
    all.extend_from_slice(&["-D", h, "-o", b, "-w", "%{http_version}", &url]);
    let (out, err) = curl(&all);
    assert_eq!(out, "2", "not HTTP/2: {err}");
    let headers = std::fs::read_to_string(&hdrs).unwrap().to_ascii_lowercase();
    (headers, std::fs::read(&body).unwrap())
}

#[test]
fn h2_compress_gzip_decodes_to_the_original_with_vary() {
    let body = text(200_000);
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new();
    for chunked in [false, true] {
        let b = Behavior::fixed(200, &body).header("Content-Type", "application/json");
        let up = Upstream::start("up", if chunked { b.chunked() } else { b });
        let small = Upstream::start("small", Behavior::fixed(200, b"{\"tiny\":1}"));
        let mut dynamic = router("r", "PathPrefix(`/`)", "s");
        dynamic.push_str("middlewares = [\"squeeze\"]\n[http.routers.r.tls]\n");
        dynamic.push_str(&router("plain", "PathPrefix(`/`)", "s"));
        dynamic.push_str("middlewares = [\"squeeze\"]\n");
        dynamic.push_str(&router("tiny", "PathPrefix(`/tiny`)", "t"));
        dynamic.push_str("middlewares = [\"squeeze\"]\n");
        dynamic.push_str(&lb_service("s", &[up.url()]));
        dynamic.push_str(&lb_service("t", &[small.url()]));
        dynamic.push_str("[http.middlewares.squeeze.compress]\n");
        let p = start_with(&site, &(dynamic + &certs_toml(true)), |c| c);
        for tls in [true, false] {
            let gzip = ["-H", "Accept-Encoding: gzip"];
            let (h, raw) = fetch(&p, tls, "/doc", &gzip, dir.path());
            let what = format!("tls {tls} chunked {chunked}: {h}");
            assert!(h.contains("content-encoding: gzip"), "{what}");
            assert!(h.contains("vary: accept-encoding"), "{what}");
            assert!(!h.contains("content-length"), "{what}");
            assert!(raw.len() < body.len() / 3, "{what}: {} bytes", raw.len());
            assert!(decode("gzip", &raw) == body, "{what}: decoded body differs");
            // Without Accept-Encoding: as the upstream sent it.
            let (h, plain) = fetch(&p, tls, "/doc", &[], dir.path());
            assert!(!h.contains("content-encoding"), "{h}");
            assert!(plain == body);
        }
        // Under minResponseBodyBytes: not compressed, its length kept.
        let (h, tiny) = fetch(
            &p,
            false,
            "/tiny",
            &["-H", "Accept-Encoding: gzip"],
            dir.path(),
        );
        assert!(!h.contains("content-encoding"), "{h}");
        assert_eq!(tiny, b"{\"tiny\":1}");
    }
}

/// Router `r` on every path through errors `e` to `app`, pages from `pages`.
fn caught(app: &str, pages: &str) -> String {
    format!(
        "{}middlewares = [\"e\"]\n{}{}[http.middlewares.e.errors]\nservice = \"pages\"\n\
         status = [\"500-599\"]\nquery = \"/err/{{status}}\"\n",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[app.to_string()]),
        lb_service("pages", &[pages.to_string()]),
    )
}

#[test]
fn h2_errors_page_replaces_a_caught_status_and_the_proxys_own_502() {
    let dir = tempfile::tempdir().unwrap();
    let app = Upstream::start(
        "app",
        Behavior::fixed(503, b"original body").header("X-Orig", "1"),
    );
    let pages = Upstream::start(
        "pages",
        Behavior::fixed(200, b"sorry").header("X-Page", "p"),
    );
    let p = Proxy::start(&ProxyConfig::new(&caught(&app.url(), &pages.url())));
    let (h, body) = fetch(&p, false, "/p", &[], dir.path());
    assert!(h.starts_with("http/2 503"), "{h}");
    assert!(h.contains("x-page: p"), "{h}");
    assert!(
        !h.contains("x-orig"),
        "the original fields are dropped: {h}"
    );
    assert_eq!(body, b"sorry");
    assert_eq!(pages.only_request().target, "/err/503");
    // The proxy's own 502 (nothing listens) gets its page too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let p = Proxy::start(&ProxyConfig::new(&caught(&url, &pages.url())));
    let (h, body) = fetch(&p, false, "/q", &[], dir.path());
    assert!(h.starts_with("http/2 502"), "{h}");
    assert_eq!(body, b"sorry");
    assert_eq!(pages.requests().last().unwrap().target, "/err/502");
}
