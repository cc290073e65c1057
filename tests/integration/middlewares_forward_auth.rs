//! forwardAuth against Traefik's `forward.go`: a 2xx lets the request through
//! with the named (and regex-matched) fields of the auth answer replacing the
//! client's, and the listed cookies added to the response; the auth request
//! carries the client's fields and X-Forwarded-Method/-Proto/-Host/-Uri/-For;
//! any other answer goes back as the auth server sent it, its Location
//! resolved against the auth address unless preserved; the body is sent with
//! forwardBody (401 past maxBodySize); an unreachable auth server is a 500.

use crate::common::client::{Client, request};
use crate::common::config::{lb_service, router};
use crate::common::*;

/// Router `r` on every path through forwardAuth `fa` (at `auth`, with the
/// `extra` keys) to `app`.
fn guarded(app: &Upstream, address: &str, extra: &str) -> String {
    format!(
        "{}middlewares = [\"fa\"]\n{}[http.middlewares.fa.forwardAuth]\naddress = \"{address}\"\n{extra}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[app.url()]),
    )
}

#[test]
fn a_2xx_lets_the_request_through_with_the_auth_fields_and_cookies() {
    let auth = Upstream::start(
        "auth",
        Behavior::fixed(200, b"ok")
            .header("X-Auth-User", "alice")
            .header("X-Group-Admins", "yes")
            .header("X-Not-Copied", "1")
            .header("Set-Cookie", "session=s1; Path=/")
            .header("Set-Cookie", "other=o1"),
    );
    let app = Upstream::echo("app");
    let extra = "authResponseHeaders = [\"X-Auth-User\"]\n\
                 authResponseHeadersRegex = \"^X-Group-\"\n\
                 addAuthCookiesToResponse = [\"session\"]\n";
    let cfg = guarded(&app, &format!("{}/verify?v=1", auth.url()), extra);
    let p = Proxy::start(&ProxyConfig::new(&cfg));
    let r = request(
        p.addr(),
        "POST /app/page?q=1 HTTP/1.1\r\nHost: app.test\r\nAuthorization: Bearer t\r\n\
         X-Auth-User: mallory\r\nX-Group-Forged: 1\r\nConnection: keep-alive, X-Hop\r\n\
         X-Hop: h\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers_named("Set-Cookie"), ["session=s1; Path=/"]);

    let seen = auth.only_request();
    assert_eq!(seen.request_line(), "GET /verify?v=1 HTTP/1.1");
    assert_eq!(seen.header("Host"), Some(auth.addr().to_string().as_str()));
    assert_eq!(seen.header("Authorization"), Some("Bearer t"));
    assert_eq!(seen.header("X-Forwarded-Method"), Some("POST"));
    assert_eq!(seen.header("X-Forwarded-Proto"), Some("http"));
    assert_eq!(seen.header("X-Forwarded-Host"), Some("app.test"));
    assert_eq!(seen.header("X-Forwarded-Uri"), Some("/app/page?q=1"));
    assert_eq!(seen.header("X-Forwarded-For"), Some("127.0.0.1"));
    assert!(!seen.has_header("X-Hop") && !seen.has_header("Connection"));
    assert_eq!(seen.body_len, 0, "the body goes only with forwardBody");

    let up = app.only_request();
    assert_eq!(up.headers_named("X-Auth-User"), ["alice"]);
    assert_eq!(up.header("X-Group-Admins"), Some("yes"));
    assert!(!up.has_header("X-Group-Forged"), "{:?}", up.headers);
    assert!(!up.has_header("X-Not-Copied"));
    assert_eq!(up.body, b"hi");
}

#[test]
fn anything_else_goes_back_as_the_auth_server_sent_it() {
    let auth = Upstream::start(
        "auth",
        Behavior::fixed(401, b"go away").header("WWW-Authenticate", "Bearer realm=x"),
    );
    let app = Upstream::echo("app");
    let p = Proxy::start(&ProxyConfig::new(&guarded(&app, &auth.url(), "")));
    let mut c = Client::connect(p.addr());
    let r = c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), "go away");
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer realm=x"));
    assert_eq!(r.header("Content-Type"), None, "no type of the proxy's own");
    // Refused requests never reach the service, and the connection stays usable.
    assert_eq!(
        c.request("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").status,
        401
    );
    assert!(app.requests().is_empty());
}

#[test]
fn a_redirect_location_is_resolved_against_the_auth_address_unless_preserved() {
    let auth = Upstream::start(
        "auth",
        Behavior::fixed(302, b"").header("Location", "/login"),
    );
    let app = Upstream::echo("app");
    let address = format!("{}/check", auth.url());
    let p = Proxy::start(&ProxyConfig::new(&guarded(&app, &address, "")));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("Location"),
        Some(format!("{}/login", auth.url()).as_str())
    );

    let extra = "preserveLocationHeader = true\n";
    let p = Proxy::start(&ProxyConfig::new(&guarded(&app, &address, extra)));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.header("Location")), (302, Some("/login")));
    assert!(app.requests().is_empty());
}

#[test]
fn the_body_goes_to_the_auth_server_with_forward_body_up_to_max_body_size() {
    let auth = Upstream::echo("auth");
    let app = Upstream::echo("app");
    let extra = "forwardBody = true\nmaxBodySize = 10\npreserveRequestMethod = true\n";
    let p = Proxy::start(&ProxyConfig::new(&guarded(&app, &auth.url(), extra)));
    let r = request(
        p.addr(),
        "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = auth.only_request();
    assert_eq!(
        (seen.method.as_str(), &seen.body[..]),
        ("POST", &b"hello"[..])
    );
    assert_eq!(app.only_request().body, b"hello", "the service gets it too");

    // Chunked: the auth server gets the payload, the service the same body.
    let r = request(
        p.addr(),
        "POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(auth.requests()[1].body, b"abcde");
    assert_eq!(app.requests()[1].body, b"abcde");

    let r = request(
        p.addr(),
        "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 11\r\n\r\nhello world",
    );
    assert_eq!(r.status, 401, "over maxBodySize: {}", r.text());
    assert_eq!(
        auth.requests().len(),
        2,
        "nothing was sent to the auth server"
    );
    assert_eq!(app.requests().len(), 2);
}

#[test]
fn an_unreachable_auth_server_is_a_500() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = Upstream::echo("app");
    let p = Proxy::start(&ProxyConfig::new(&guarded(&app, &address, "")));
    let r = request(p.addr(), "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (500, ""));
    assert!(app.requests().is_empty());
    // The log is read from proxyd's stderr by another thread: wait for it.
    assert!(
        p.wait_log(
            "forwardAuth fa@file: error calling",
            std::time::Duration::from_secs(10)
        ),
        "{}",
        p.log_text()
    );
}
