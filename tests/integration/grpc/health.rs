//! `mode = "grpc"` health checks (#13) against real grpcio servers: the
//! `grpc.health.v1.Health/Check` call Traefik makes (an empty request, a
//! deadline), SERVING ↔ NOT_SERVING taking the server out of and back into
//! rotation (traffic and API), a server without the health service is down
//! with the reason, and an `https://` server is probed over TLS with ALPN h2.

use std::time::Duration;

use super::*;
use crate::health::{LIMIT, checked_app};
use crate::observe::{api, with_admin};

const GRPC: &str = "mode = \"grpc\"\ninterval = \"100ms\"\ntimeout = \"2s\"\n";

fn wait_state(p: &Proxy, url: &str, state: &str, n: usize) {
    let line = format!("server={url} {state}");
    assert!(
        p.wait_log_count(&line, n, LIMIT),
        "no {line:?}:\n{}",
        p.log_text()
    );
}

/// Answers through proxyd: 503 while its one server is down.
fn status(p: &Proxy) -> u16 {
    client::get(p.addr(), "app.test", "/").status
}

#[test]
fn a_grpc_health_check_follows_serving_and_not_serving() {
    let server = GrpcServer::start(None);
    let url = format!("h2c://127.0.0.1:{}", server.port);
    let cfg = with_admin(
        ProxyConfig::new(&checked_app(std::slice::from_ref(&url), GRPC)),
        "[api]\ninsecure = true\n",
    );
    let p = Proxy::start(&cfg);
    let probed = poll_until(LIMIT, Duration::from_millis(20), || {
        server
            .events()
            .contains("health request=0 deadline=yes")
            .then_some(())
    });
    assert!(probed.is_some(), "events: {:?}", server.events());
    assert_ne!(status(&p), 503);
    let service = "/api/http/services/app@file";

    server.set_health("NOT_SERVING");
    wait_state(&p, &url, "DOWN: received gRPC status NOT_SERVING", 1);
    assert_eq!(status(&p), 503, "{}", p.log_text());
    let doc = api(&p, service).1;
    assert_eq!(doc["serverStatus"][&url], "DOWN");
    assert_eq!(doc["loadBalancer"]["healthCheck"]["mode"], "grpc");

    server.set_health("SERVING");
    wait_state(&p, &url, "UP: SERVING", 1);
    assert_ne!(status(&p), 503, "{}", p.log_text());
    assert_eq!(api(&p, service).1["serverStatus"][&url], "UP");

    server.set_health("UNIMPLEMENTED");
    wait_state(
        &p,
        &url,
        "DOWN: gRPC health check failed: the server does not implement",
        1,
    );
}

#[test]
fn an_https_server_is_probed_over_tls_with_alpn_h2() {
    let site = crate::tls::Site::new();
    let leaf = &site.exact;
    let server = GrpcServer::start(Some((&leaf.cert_pem, &leaf.key_pem)));
    server.set_health("NOT_SERVING");
    let url = format!("https://127.0.0.1:{}", server.port);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, site.ca.pem()).unwrap();
    let dynamic = format!(
        "{}{}[http.services.app.loadBalancer.healthCheck]\n{GRPC}\
         [http.serversTransports.t]\nserverName = \"a.test\"\nrootCAs = [{:?}]\n",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with(
            "app",
            std::slice::from_ref(&url),
            "serversTransport = \"t\"\n"
        ),
        ca.display().to_string()
    );
    let p = Proxy::start(&ProxyConfig::new(&dynamic));
    wait_state(&p, &url, "DOWN: received gRPC status NOT_SERVING", 1);
    server.set_health("SERVING");
    wait_state(&p, &url, "UP: SERVING", 1);
}
