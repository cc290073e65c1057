//! contentType on real responses: with the middleware (autoDetect unset or
//! true) a proxied response without Content-Type gets Go's guess from its
//! first body bytes, as Traefik's tests expect (`Test` → `text/plain;
//! charset=utf-8`); an upstream's own type, a Content-Encoding, an empty
//! body or a HEAD get none. `autoDetect = false` and no middleware leave the
//! head as the upstream sent it.

use crate::common::config::{lb_service, router};
use crate::common::scripted::{Scripted, send};
use crate::common::*;

/// The upstream's answer for each target, head and body in one write.
fn origin() -> Scripted {
    Scripted::start(|req, _| {
        let raw = match req.target.as_str() {
            "/text" => "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nTest".to_string(),
            "/html" => {
                let body = "  <HTML><body>hi</body></HTML>";
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            }
            "/json" => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Content-Length: 4\r\n\r\nTest"
                .to_string(),
            "/chunked" => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                           3\r\n%PD\r\n4\r\nF-1.\r\n0\r\n\r\n"
                .to_string(),
            "/gzip" => "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\
                        Content-Length: 4\r\n\r\nTest"
                .to_string(),
            "/empty" => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_string(),
            "/nocontent" => "HTTP/1.1 204 No Content\r\n\r\n".to_string(),
            t => panic!("unexpected target {t}"),
        };
        vec![send(raw.as_bytes())]
    })
}

/// Routers per host: `on.test` (contentType with no options), `true.test`
/// (autoDetect = true), `off.test` (autoDetect = false), `plain.test` (none).
fn config(up: &Scripted) -> String {
    let mut s = lb_service("s", &[up.url()]);
    for (host, def) in [
        ("on", "[http.middlewares.on.contentType]\n"),
        (
            "true",
            "[http.middlewares.true.contentType]\nautoDetect = true\n",
        ),
        (
            "off",
            "[http.middlewares.off.contentType]\nautoDetect = false\n",
        ),
    ] {
        s.push_str(&router(host, &format!("Host(`{host}.test`)"), "s"));
        s.push_str(&format!("middlewares = [\"{host}\"]\n{def}"));
    }
    s.push_str(&router("plain", "Host(`plain.test`)", "s"));
    s
}

fn get(c: &mut client::Client, method: &str, host: &str, path: &str) -> client::Response {
    let raw = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    if method == "HEAD" {
        c.send(raw.as_bytes());
        return c.read_final("HEAD");
    }
    c.request(&raw)
}

fn content_types(r: &client::Response) -> Vec<String> {
    r.headers_named("Content-Type")
        .into_iter()
        .map(String::from)
        .collect()
}

#[test]
fn a_missing_type_is_guessed_from_the_body() {
    let up = origin();
    let p = Proxy::start(&ProxyConfig::new(&config(&up)));
    let mut c = client::Client::connect(p.addr());
    for host in ["on.test", "true.test"] {
        for (path, want) in [
            ("/text", "text/plain; charset=utf-8"),
            ("/html", "text/html; charset=utf-8"),
            ("/chunked", "application/pdf"),
        ] {
            let r = get(&mut c, "GET", host, path);
            assert_eq!(r.status, 200, "{host}{path}");
            assert_eq!(content_types(&r), [want], "{host}{path}");
        }
        let r = get(&mut c, "GET", host, "/text");
        assert_eq!(r.text(), "Test", "the body passes unchanged");
    }
}

#[test]
fn no_guess_when_typed_encoded_empty_or_bodiless() {
    let up = origin();
    let p = Proxy::start(&ProxyConfig::new(&config(&up)));
    let mut c = client::Client::connect(p.addr());
    let r = get(&mut c, "GET", "on.test", "/json");
    assert_eq!(content_types(&r), ["application/json"]);
    for path in ["/gzip", "/empty", "/nocontent"] {
        let r = get(&mut c, "GET", "on.test", path);
        assert_eq!(content_types(&r), Vec::<String>::new(), "{path}");
    }
    let r = get(&mut c, "HEAD", "on.test", "/text");
    assert_eq!(r.status, 200);
    assert_eq!(content_types(&r), Vec::<String>::new(), "HEAD");
}

#[test]
fn autodetect_false_or_no_middleware_adds_nothing() {
    let up = origin();
    let p = Proxy::start(&ProxyConfig::new(&config(&up)));
    let mut c = client::Client::connect(p.addr());
    for host in ["off.test", "plain.test"] {
        for path in ["/text", "/html", "/chunked"] {
            let r = get(&mut c, "GET", host, path);
            assert_eq!(r.status, 200, "{host}{path}");
            assert_eq!(content_types(&r), Vec::<String>::new(), "{host}{path}");
        }
        let r = get(&mut c, "GET", host, "/json");
        assert_eq!(content_types(&r), ["application/json"]);
    }
}
