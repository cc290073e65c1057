//! `providers.redis.tls` and `providers.etcd.tls` against real stores serving
//! TLS only, with certificates from a test CA: a store whose certificate the
//! CA signed is read (client certificates for mTLS are sent), one signed by
//! another CA is refused with a clear log line and `proxyd_provider_up` 0, and
//! `insecureSkipVerify` reads it anyway.

use crate::kv_store::*;
use crate::tls::pki::Ca;

/// The files a store and proxyd need: the CA, the server's certificate for
/// 127.0.0.1, and a client certificate.
struct Pki {
    ca: String,
    files: Vec<(&'static str, String)>,
}

impl Pki {
    fn new() -> Pki {
        let ca = Ca::new("store CA");
        let server = ca.leaf(&["127.0.0.1"]);
        let client = ca.leaf(&["proxyd"]);
        Pki {
            ca: ca.pem(),
            files: vec![
                ("ca.crt", ca.pem()),
                ("server.crt", server.cert_pem),
                ("server.key", server.key_pem),
                ("client.crt", client.cert_pem),
                ("client.key", client.key_pem),
            ],
        }
    }

    fn files(&self) -> Vec<(&str, &str)> {
        self.files.iter().map(|(n, t)| (*n, t.as_str())).collect()
    }
}

/// The provider section: `tls` keys given as file paths in the store's
/// directory, except `ca` which is given inline (Traefik takes either).
fn provider(store_kind: &str, s: &Store, ca: &str, extra: &str) -> String {
    format!(
        "[providers.{store_kind}]\nendpoints = [\"{}\"]\n[providers.{store_kind}.tls]\n\
         ca = '''\n{ca}'''\n{extra}",
        s.endpoint()
    )
}

fn client_cert(s: &Store) -> String {
    format!(
        "cert = \"{}/client.crt\"\nkey = \"{}/client.key\"\n",
        s.dir(),
        s.dir()
    )
}

const REDIS_SERVER: &[&str] = &[
    "--tls-cert-file",
    "{dir}/server.crt",
    "--tls-key-file",
    "{dir}/server.key",
    "--tls-ca-cert-file",
    "{dir}/ca.crt",
];
const REDIS_CLI: &[&str] = &[
    "--cacert",
    "{dir}/ca.crt",
    "--cert",
    "{dir}/client.crt",
    "--key",
    "{dir}/client.key",
];

fn redis_mtls(pki: &Pki) -> Store {
    // `tls-auth-clients` defaults to yes: a client without a certificate is refused.
    redis_tls(&pki.files(), REDIS_SERVER, REDIS_CLI)
}

#[test]
fn redis_over_tls_with_a_client_certificate() {
    let pki = Pki::new();
    let store = redis_mtls(&pki);
    let p = proxy(&provider("redis", &store, &pki.ca, &client_cert(&store)));
    for (k, v) in respond_pairs("app", "app.test", "over tls") {
        redis_cli(&store, &["SET", &k, &v], "");
    }
    wait_body(&p, "app.test", "over tls");
    wait_provider_up(&p, "redis", true);
}

#[test]
fn redis_with_another_ca_is_refused_and_insecure_skip_verify_reads_it() {
    let pki = Pki::new();
    let store = redis_mtls(&pki);
    for (k, v) in respond_pairs("app", "app.test", "insecure") {
        redis_cli(&store, &["SET", &k, &v], "");
    }
    let other = Ca::new("other CA").pem();
    let p = proxy(&provider("redis", &store, &other, &client_cert(&store)));
    let refused = "provider redis: store unreachable (127.0.0.1";
    assert!(p.wait_log(refused, CHANGE_LIMIT), "{}", p.log_text());
    assert!(
        p.log_text()
            .contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        p.log_text()
    );
    wait_provider_up(&p, "redis", false);
    wait_status(&p, "app.test", 404);

    let extra = format!("{}insecureSkipVerify = true\n", client_cert(&store));
    let p = proxy(&provider("redis", &store, &other, &extra));
    wait_body(&p, "app.test", "insecure");
}

#[test]
fn redis_mtls_without_a_client_certificate_is_refused() {
    let pki = Pki::new();
    let store = redis_mtls(&pki);
    let p = proxy(&provider("redis", &store, &pki.ca, ""));
    assert!(
        p.wait_log("provider redis: store unreachable", CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
    // Why: the server's TLS alert. A store marked down alone would also pass
    // with TLS not spoken at all.
    assert!(
        p.log_text()
            .contains("received fatal alert: CertificateRequired"),
        "{}",
        p.log_text()
    );
    wait_provider_up(&p, "redis", false);
}

fn etcd_mtls(pki: &Pki) -> Store {
    etcd_tls(
        &pki.files(),
        &[
            "--cert-file",
            "{dir}/server.crt",
            "--key-file",
            "{dir}/server.key",
            "--trusted-ca-file",
            "{dir}/ca.crt",
            "--client-cert-auth",
        ],
        &[
            "--cacert",
            "{dir}/ca.crt",
            "--cert",
            "{dir}/client.crt",
            "--key",
            "{dir}/client.key",
        ],
    )
}

#[test]
fn etcd_over_tls_with_a_client_certificate() {
    let pki = Pki::new();
    let store = etcd_mtls(&pki);
    let p = proxy(&provider("etcd", &store, &pki.ca, &client_cert(&store)));
    for (k, v) in respond_pairs("app", "app.test", "v1") {
        etcdctl(&store, &["put", &k, &v], "");
    }
    wait_body(&p, "app.test", "v1");
    // The watch (a streaming request over TLS) sees a change.
    etcdctl(
        &store,
        &["put", "traefik/http/services/app/respond/body", "v2"],
        "",
    );
    wait_body(&p, "app.test", "v2");
    wait_provider_up(&p, "etcd", true);
}

#[test]
fn etcd_with_another_ca_is_refused() {
    let pki = Pki::new();
    let store = etcd_mtls(&pki);
    let other = Ca::new("other CA").pem();
    let p = proxy(&provider("etcd", &store, &other, &client_cert(&store)));
    assert!(
        p.wait_log("provider etcd: store unreachable (127.0.0.1", CHANGE_LIMIT),
        "{}",
        p.log_text()
    );
    assert!(
        p.log_text()
            .contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        p.log_text()
    );
    wait_provider_up(&p, "etcd", false);
}
