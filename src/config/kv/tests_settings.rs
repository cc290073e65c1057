//! Static `providers.redis` / `providers.etcd` settings: `tls` built from files
//! or inline PEM, and refused with the key at fault.

use crate::config::{ConfigError, ConfigErrors, StaticConfig, load_static};

fn load(text: &str, files: &[(&str, &str)]) -> Result<StaticConfig, ConfigErrors> {
    let tmp = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(tmp.path().join(name), body).unwrap();
    }
    let text = format!(
        "[entryPoints.web]\naddress = \":0\"\n{}",
        text.replace("{dir}", tmp.path().to_str().unwrap())
    );
    let path = tmp.path().join("proxyd.toml");
    std::fs::write(&path, text).unwrap();
    load_static(&path)
}

fn errors(text: &str, files: &[(&str, &str)]) -> Vec<ConfigError> {
    load(text, files).expect_err("refused").0
}

/// A self-signed certificate and its key, as PEM.
fn cert() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["store.test".to_string()]).unwrap();
    (c.cert.pem(), c.signing_key.serialize_pem())
}

#[test]
fn tls_from_files_and_inline_pem() {
    let (crt, key) = cert();
    let text = format!(
        "[providers.redis.tls]\nca = \"{{dir}}/ca.crt\"\ncert = \"{{dir}}/c.crt\"\nkey = \"{{dir}}/c.key\"\n\
         [providers.etcd.tls]\nca = '''\n{crt}'''\ninsecureSkipVerify = true\n"
    );
    let cfg = load(&text, &[("ca.crt", &crt), ("c.crt", &crt), ("c.key", &key)]).unwrap();
    assert_eq!(cfg.kv.len(), 2);
    assert!(cfg.kv.iter().all(|p| p.tls.is_some()), "{:?}", cfg.kv);
    let plain = load("[providers.redis]\n", &[]).unwrap();
    assert_eq!(plain.kv[0].tls, None);
}

#[test]
fn tls_errors_name_the_key() {
    let (crt, _) = cert();
    let errs = errors(
        "[providers.redis.tls]\ncert = \"{dir}/c.crt\"\n",
        &[("c.crt", &crt)],
    );
    assert_eq!(errs[0].key, "providers.redis.tls.key", "{errs:?}");
    assert!(errs[0].reason.contains("both TLS cert and key"), "{errs:?}");

    let errs = errors("[providers.etcd.tls]\nca = \"/nonexistent/ca.pem\"\n", &[]);
    assert_eq!(errs[0].key, "providers.etcd.tls.ca", "{errs:?}");
    assert!(errs[0].reason.contains("cannot read"), "{errs:?}");

    let errs = errors(
        "[providers.etcd.tls]\nca = \"{dir}/ca.crt\"\n",
        &[("ca.crt", "not a certificate")],
    );
    assert_eq!(errs[0].key, "providers.etcd.tls.ca", "{errs:?}");
    assert!(errs[0].reason.contains("failed to parse CA"), "{errs:?}");

    let errs = errors(
        "[providers.redis.tls]\ncert = \"{dir}/c.crt\"\nkey = \"{dir}/c.crt\"\n",
        &[("c.crt", &crt)],
    );
    assert_eq!(errs[0].key, "providers.redis.tls.key", "{errs:?}");

    let errs = errors("[providers.redis.tls]\nverify = true\n", &[]);
    assert!(errs[0].reason.contains("verify"), "{errs:?}");
}

#[test]
fn sentinel_settings_and_refusals() {
    let cfg = load(
        "[providers.redis]\nendpoints = [\"10.0.0.1:26379\"]\n[providers.redis.sentinel]\n\
         masterName = \"m\"\npassword = \"s\"\n",
        &[],
    )
    .unwrap();
    let s = cfg.kv[0].sentinel.as_ref().expect("sentinel");
    assert_eq!(
        (s.master_name.as_str(), s.password.as_deref()),
        ("m", Some("s"))
    );

    let errs = errors("[providers.redis.sentinel]\npassword = \"s\"\n", &[]);
    assert_eq!(
        errs[0].key, "providers.redis.sentinel.masterName",
        "{errs:?}"
    );

    let errs = errors(
        "[providers.redis.sentinel]\nmasterName = \"m\"\nlatencyStrategy = true\nreplicaStrategy = true\n",
        &[],
    );
    assert!(errs[0].reason.contains("mutually exclusive"), "{errs:?}");

    let errs = errors(
        "[providers.redis.sentinel]\nmasterName = \"m\"\nrandomStrategy = true\n",
        &[],
    );
    assert_eq!(
        errs[0].key, "providers.redis.sentinel.randomStrategy",
        "{errs:?}"
    );
    assert!(errs[0].reason.contains("not supported yet"), "{errs:?}");
}
