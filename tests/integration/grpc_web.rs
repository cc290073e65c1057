//! The `grpcWeb` middleware in front of a real grpcio server (`grpc/server.py`
//! as an `h2c://` upstream): gRPC-Web clients built here, raw HTTP/1.1 with
//! the framed body and curl over h2c. Unary with `grpc-status: 0` in the
//! trailer frame, an aborted call's status and message, server streaming
//! (frames arrive while the call still runs), text mode (base64 both ways),
//! and CORS preflights for an allowed and a refused origin.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::client::{Client, Response};
use crate::common::config::router;
use crate::common::*;
use crate::grpc::GrpcServer;
use crate::h2::curl;

const ORIGIN: &str = "https://web.test";

/// Router `app` with `grpcWeb` allowing [`ORIGIN`] to the gRPC server, and
/// router `h1` (Host h1.test) with it to a plain HTTP/1.1 server.
fn start(server: &GrpcServer, h1_port: Option<u16>) -> Proxy {
    let mut dynamic = router("app", "Host(`app.test`)", "g");
    dynamic.push_str("middlewares = [\"web\"]\n");
    dynamic.push_str(&format!(
        "[http.middlewares.web.grpcWeb]\nallowOrigins = [\"{ORIGIN}\"]\n\
         [[http.services.g.loadBalancer.servers]]\nurl = \"h2c://127.0.0.1:{}\"\n",
        server.port
    ));
    if let Some(port) = h1_port {
        dynamic.push_str(&router("h1", "Host(`h1.test`)", "h"));
        dynamic.push_str(&format!(
            "middlewares = [\"web\"]\n[[http.services.h.loadBalancer.servers]]\n\
             url = \"http://127.0.0.1:{port}\"\n"
        ));
    }
    Proxy::start(&ProxyConfig::new(&dynamic))
}

/// One gRPC message frame (uncompressed).
fn message(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0];
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The body's frames as (flag, payload); panics on a truncated frame.
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 5, "truncated frame header: {body:?}");
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        assert!(body.len() >= 5 + len, "truncated frame: {body:?}");
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

/// A text-mode body: padded base64 parts, decoded quantum by quantum.
fn unbase64(text: &[u8]) -> Vec<u8> {
    assert_eq!(text.len() % 4, 0, "not 4-aligned: {text:?}");
    let mut out = Vec::new();
    for q in text.chunks(4) {
        out.extend(
            STANDARD
                .decode(q)
                .unwrap_or_else(|e| panic!("{e}: {text:?}")),
        );
    }
    out
}

fn post(p: &Proxy, host: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
    let mut c = Client::connect(p.addr());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         X-Grpc-Web: 1\r\nOrigin: {ORIGIN}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.send(head.as_bytes());
    c.send(body);
    c.read_response()
}

/// What the trailer frame (or, for a trailers-only answer, the head) says.
fn status_of(r: &Response, frames: &[(u8, Vec<u8>)]) -> String {
    match frames.iter().find(|(flag, _)| *flag == 0x80) {
        Some((_, t)) => String::from_utf8_lossy(t).into_owned(),
        None => format!(
            "grpc-status: {}\r\ngrpc-message: {}\r\n",
            r.header("grpc-status").unwrap_or(""),
            r.header("grpc-message").unwrap_or("")
        ),
    }
}

/// POSTs `body` over h2c with curl; returns the response head and body.
fn curl_post(p: &Proxy, path: &str, content_type: &str, body: &[u8]) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (req, out) = (dir.path().join("req"), dir.path().join("out"));
    std::fs::write(&req, body).unwrap();
    let (head, err) = curl(&[
        "--http2-prior-knowledge",
        "-D",
        "-",
        "-o",
        out.to_str().unwrap(),
        "-H",
        "Host: app.test",
        "-H",
        &format!("Content-Type: {content_type}"),
        "--data-binary",
        &format!("@{}", req.display()),
        &format!("http://{}{path}", p.addr()),
    ]);
    assert!(head.starts_with("HTTP/2 200"), "{head}{err}");
    (head, std::fs::read(&out).unwrap_or_default())
}

#[test]
fn grpc_web_unary_over_http1_gets_its_status_in_the_trailer_frame() {
    let server = GrpcServer::start(None);
    let p = start(&server, None);
    let r = post(
        &p,
        "app.test",
        "/test.T/Unary",
        "application/grpc-web+proto",
        &message(b"hi"),
    );
    assert_eq!(r.status, 200, "{r:?}\n{}", p.log_text());
    assert_eq!(r.header("content-type"), Some("application/grpc-web"));
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let exposed = r.header("access-control-expose-headers").unwrap_or("");
    assert!(exposed.ends_with("grpc-status, grpc-message"), "{exposed}");
    assert!(exposed.contains("Content-Type"), "{exposed}");
    assert!(r.chunked && r.trailers.is_empty(), "{r:?}");
    let got = frames(&r.body);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], (0, b"echo:hi deadline=no".to_vec()));
    let trailer = String::from_utf8_lossy(&got[1].1).into_owned();
    assert_eq!(got[1].0, 0x80);
    assert!(trailer.contains("grpc-status: 0\r\n"), "{trailer:?}");
    assert!(
        trailer.lines().all(|l| l == l.to_lowercase()),
        "{trailer:?}"
    );
}

#[test]
fn an_aborted_call_reports_its_status_and_message() {
    let server = GrpcServer::start(None);
    let p = start(&server, None);
    let r = post(
        &p,
        "app.test",
        "/test.T/Abort",
        "application/grpc-web",
        &message(b"x"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let got = frames(&r.body);
    let status = status_of(&r, &got);
    assert!(status.contains("grpc-status: 7\r\n"), "{status:?}");
    assert!(
        status.contains("grpc-message: not for you: x\r\n"),
        "{status:?}"
    );
}

#[test]
fn text_mode_is_base64_both_ways_over_http1_and_h2() {
    let server = GrpcServer::start(None);
    let p = start(&server, None);
    let body = STANDARD.encode(message(b"5"));
    let r = post(
        &p,
        "app.test",
        "/test.T/ServerStream",
        "application/grpc-web-text",
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{r:?}\n{}", p.log_text());
    assert_eq!(r.header("content-type"), Some("application/grpc-web-text"));
    let got = frames(&unbase64(&r.body));
    let items: Vec<&[u8]> = got.iter().filter(|f| f.0 == 0).map(|f| &f.1[..]).collect();
    assert_eq!(
        items,
        [&b"item0"[..], b"item1", b"item2", b"item3", b"item4"]
    );
    assert!(status_of(&r, &got).contains("grpc-status: 0"));

    // The same over h2c with curl.
    let body = STANDARD.encode(message(b"hi"));
    let text = "application/grpc-web-text";
    let (head, out) = curl_post(&p, "/test.T/Unary", text, body.as_bytes());
    assert!(
        head.contains("content-type: application/grpc-web-text"),
        "{head}"
    );
    let got = frames(&unbase64(&out));
    assert_eq!(got[0], (0, b"echo:hi deadline=no".to_vec()));
    assert_eq!(got[1].0, 0x80);
    assert!(String::from_utf8_lossy(&got[1].1).contains("grpc-status: 0"));
}

#[test]
fn server_streaming_over_h2_and_frames_arrive_while_the_call_runs() {
    let server = GrpcServer::start(None);
    let p = start(&server, None);
    let (_, out) = curl_post(
        &p,
        "/test.T/ServerStream",
        "application/grpc-web",
        &message(b"3"),
    );
    let got = frames(&out);
    let items: Vec<&[u8]> = got.iter().filter(|f| f.0 == 0).map(|f| &f.1[..]).collect();
    assert_eq!(items, [&b"item0"[..], b"item1", b"item2"]);
    assert_eq!(got.last().unwrap().0, 0x80);

    // `Forever` ticks every 50 ms for 30 s: the first ticks must come long
    // before its end, so the response is streamed, not held.
    let mut s = TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let body = message(b"");
    let head = format!(
        "POST /test.T/Forever HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/grpc-web\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let started = Instant::now();
    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
    while !String::from_utf8_lossy(&got).contains("tick2") {
        assert!(started.elapsed() < Duration::from_secs(10), "{got:?}");
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("tick0") && !text.contains("grpc-status: "),
        "{text}"
    );
}

fn preflight(p: &Proxy, origin: &str) -> Response {
    Client::connect(p.addr()).request(&format!(
        "OPTIONS /test.T/Unary HTTP/1.1\r\nHost: app.test\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: x-grpc-web,content-type\r\n\r\n"
    ))
}

#[test]
fn cors_preflight_allows_the_configured_origin_and_refuses_another() {
    let server = GrpcServer::start(None);
    let p = start(&server, None);
    let r = preflight(&p, ORIGIN);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.is_empty());
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("X-Grpc-Web, Content-Type")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(r.headers_named("vary").len(), 3, "{r:?}");
    // Another origin: answered all the same (rs/cors), without the allow
    // headers, so the browser refuses the call.
    let r = preflight(&p, "https://evil.test");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), None, "{r:?}");
    assert_eq!(r.header("access-control-allow-methods"), None, "{r:?}");
    assert_eq!(r.headers_named("vary").len(), 3, "{r:?}");
}

#[test]
fn grpc_web_to_an_http1_server_is_a_502_that_says_why() {
    let server = GrpcServer::start(None);
    let up = Upstream::echo("plain");
    let p = start(&server, Some(up.addr().port()));
    let r = post(
        &p,
        "h1.test",
        "/test.T/Unary",
        "application/grpc-web",
        &message(b"hi"),
    );
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        p.wait_log("grpcWeb needs an HTTP/2 server", LOG_WAIT),
        "{}",
        p.log_text()
    );
    // A bad base64 body is the client's fault.
    let r = post(
        &p,
        "app.test",
        "/test.T/Unary",
        "application/grpc-web-text",
        b"AAA*",
    );
    assert_eq!(r.status, 400, "{r:?}");
}
