//! forwardAuth with an `https://` address: the auth server (a rustls test
//! server that answers 200) is reached over TLS, verified with `tls.ca`, and
//! given `tls.cert`/`tls.key` when it requires a client certificate; an auth
//! server that cannot be verified is a 500, as an unreachable one.

use super::server::{BOTH, TlsUpstream};
use crate::common::client::get;
use crate::common::config::{lb_service, router};
use crate::common::*;
use crate::tls::pki::{Ca, Leaf};

/// Router on every path through forwardAuth at `auth` (with `tls` lines) to
/// `app`, and `files` beside the dynamic file.
fn start(app: &Upstream, auth: &TlsUpstream, tls: &str, files: &[(&str, String)]) -> Proxy {
    let text = format!(
        "{}middlewares = [\"fa\"]\n{}[http.middlewares.fa.forwardAuth]\naddress = \"{}/check\"\n\
         [http.middlewares.fa.forwardAuth.tls]\n{tls}",
        router("r", "PathPrefix(`/`)", "s"),
        lb_service("s", &[app.url()]),
        auth.url(),
    );
    let mut cfg = ProxyConfig::new(&text);
    for (name, text) in files {
        cfg.dynamic.push((name.to_string(), text.clone()));
    }
    Proxy::start(&cfg)
}

#[test]
fn forward_auth_calls_an_https_auth_server_verified_with_its_ca() {
    let ca = Ca::new("auth CA");
    let auth = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, None);
    let app = Upstream::echo("app");
    let p = start(&app, &auth, "ca = \"ca.crt\"\n", &[("ca.crt", ca.pem())]);
    let r = get(p.addr(), "app.test", "/page");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
    assert_eq!(app.requests().len(), 1);
    assert_eq!(
        auth.handshakes().0,
        1,
        "one TLS handshake with the auth server"
    );
    drop(p);
    // Another CA: the auth server cannot be verified, a 500 (as unreachable).
    let other = Ca::new("other CA");
    let p = start(&app, &auth, "ca = \"ca.crt\"\n", &[("ca.crt", other.pem())]);
    assert_eq!(get(p.addr(), "app.test", "/page").status, 500);
    assert_eq!(app.requests().len(), 1, "the service never saw it");
    drop(p);
    // insecureSkipVerify trusts it.
    let p = start(&app, &auth, "insecureSkipVerify = true\n", &[]);
    assert_eq!(get(p.addr(), "app.test", "/page").status, 200);
}

#[test]
fn forward_auth_sends_its_client_certificate_to_an_auth_server_that_requires_one() {
    let ca = Ca::new("auth CA");
    let clients = Ca::new("client CA");
    let auth = TlsUpstream::start(&ca.leaf(&["127.0.0.1"]), BOTH, Some(clients.roots()));
    let app = Upstream::echo("app");
    let p = start(&app, &auth, "ca = \"ca.crt\"\n", &[("ca.crt", ca.pem())]);
    assert_eq!(
        get(p.addr(), "app.test", "/").status,
        500,
        "no client certificate"
    );
    drop(p);
    let me: Leaf = clients.leaf(&["proxyd.test"]);
    // The key inline as PEM, the certificate from a file.
    let tls = format!(
        "ca = \"ca.crt\"\ncert = \"me.crt\"\nkey = '''\n{}'''\n",
        me.key_pem
    );
    let files = [("ca.crt", ca.pem()), ("me.crt", me.cert_pem.clone())];
    let p = start(&app, &auth, &tls, &files);
    let r = get(p.addr(), "app.test", "/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), p.log_text());
    assert_eq!(app.requests().len(), 1);
}
