//! One resolver's state on the ACME thread: the certificates it holds (from
//! storage or obtained), its account, renew timer and per-domain backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::sign::CertifiedKey;

use super::AcmeError;
use super::challenge::Pending;
use super::client::Acme;
use super::jws::AccountKey;
use super::storage::{self, Account, Registration, StoredCert, StoredDomain};
use crate::config::{AcmeResolver, Domain, renew_durations};
use crate::tls::acme::{Certs, publish_certs};

/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(600);

struct Held {
    stored: StoredCert,
    key: Arc<CertifiedKey>,
    names: Vec<String>,
    /// Seconds since the epoch.
    not_after: i64,
}

struct Retry {
    at: Instant,
    wait: Duration,
}

pub struct Resolver {
    pub cfg: AcmeResolver,
    held: Vec<Held>,
    retries: HashMap<Vec<String>, Retry>,
    next_renew_check: Instant,
    /// Set when `held` changed and the workers' table is stale.
    pub dirty: bool,
}

/// Publishes every resolver's certificates to the workers, in one table.
pub fn publish(resolvers: &[Resolver]) {
    let mut certs = Certs::default();
    for h in resolvers.iter().flat_map(|r| &r.held) {
        let _ = certs.add(h.key.clone());
    }
    publish_certs(certs);
}

fn held(stored: StoredCert) -> Result<Held, String> {
    let key = crate::tls::store::certified_key(&stored.certificate, &stored.key)?;
    let names = crate::tls::store::dns_names(&key.cert[0])?;
    let (_, x509) = x509_parser::parse_x509_certificate(&key.cert[0])
        .map_err(|e| format!("cannot parse the certificate: {e}"))?;
    let not_after = x509.validity().not_after.timestamp();
    Ok(Held {
        stored,
        key,
        names,
        not_after,
    })
}

/// Whether a certificate name covers `name` (exact, or a one-label wildcard).
fn covers(cert_name: &str, name: &str) -> bool {
    match cert_name.strip_prefix("*.") {
        Some(parent) => name.split_once('.').is_some_and(|(_, p)| p == parent),
        None => cert_name == name,
    }
}

impl Resolver {
    /// Reads the resolver's certificates from its storage (errors are logged:
    /// the resolver then starts empty and orders what it needs).
    pub fn load(cfg: &AcmeResolver) -> Resolver {
        let mut r = Resolver {
            cfg: cfg.clone(),
            held: Vec::new(),
            retries: HashMap::new(),
            next_renew_check: Instant::now(),
            dirty: false,
        };
        let file = match storage::load(&cfg.storage) {
            Ok(f) => f,
            Err(e) => {
                log::error!("acme resolver={}: cannot read the storage: {e}", cfg.name);
                return r;
            }
        };
        let certs = file.get(&cfg.name).and_then(|s| s.certificates.clone());
        for c in certs.into_iter().flatten() {
            let names = c.domain().names();
            match held(c) {
                Ok(h) => r.held.push(h),
                Err(e) => log::error!(
                    "acme resolver={}: stored certificate {names:?}: {e}",
                    cfg.name
                ),
            }
        }
        log::info!(
            "acme resolver={}: {} certificate(s) loaded from {}",
            cfg.name,
            r.held.len(),
            cfg.storage.display()
        );
        r
    }

    fn covered(&self, names: &[String]) -> bool {
        self.held
            .iter()
            .any(|h| names.iter().all(|n| h.names.iter().any(|c| covers(c, n))))
    }

    /// Orders a certificate for each wanted domain no held one covers.
    pub fn obtain_missing(&mut self, wanted: &[Domain]) {
        for d in wanted {
            let names = d.names();
            if self.covered(&names) {
                continue;
            }
            if let Some(w) = names.iter().find(|n| n.starts_with("*.")) {
                if !self.retries.contains_key(&names) {
                    log::error!(
                        "acme resolver={}: {w}: a wildcard needs the DNS-01 challenge, which proxyd does not support yet",
                        self.cfg.name
                    );
                    self.retries.insert(
                        names,
                        Retry {
                            at: Instant::now() + MAX_BACKOFF * 1000,
                            wait: MAX_BACKOFF,
                        },
                    );
                }
                continue;
            }
            self.attempt(d, "obtain");
        }
    }

    /// On Traefik's schedule, re-orders certificates within their renew period.
    pub fn renew_due(&mut self) {
        let now = Instant::now();
        if now < self.next_renew_check {
            return;
        }
        let (period, interval) = renew_durations(self.cfg.certificates_duration);
        self.next_renew_check = now + interval;
        let limit = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(period)
            .as_secs() as i64;
        let due: Vec<Domain> = self
            .held
            .iter()
            .filter(|h| h.not_after < limit)
            .map(|h| h.stored.domain())
            .collect();
        for d in due {
            log::info!(
                "acme resolver={}: renewing the certificate for {:?}",
                self.cfg.name,
                d.names()
            );
            self.attempt(&d, "renew");
        }
    }

    /// One order, unless `d` is backing off; failures are logged and backed off.
    fn attempt(&mut self, d: &Domain, what: &str) {
        let names = d.names();
        if self
            .retries
            .get(&names)
            .is_some_and(|r| Instant::now() < r.at)
        {
            return;
        }
        match self.order(d) {
            Ok(()) => {
                self.retries.remove(&names);
                log::info!(
                    "acme resolver={}: certificate obtained for {names:?}",
                    self.cfg.name
                );
            }
            Err(e) => {
                let wait = self
                    .retries
                    .get(&names)
                    .map_or(FIRST_BACKOFF, |r| (r.wait * 2).min(MAX_BACKOFF));
                log::error!(
                    "acme resolver={}: cannot {what} a certificate for {names:?}: {e} (next try in {wait:?})",
                    self.cfg.name
                );
                self.retries.insert(
                    names,
                    Retry {
                        at: Instant::now() + wait,
                        wait,
                    },
                );
            }
        }
    }

    fn order(&mut self, d: &Domain) -> Result<(), AcmeError> {
        let mut file = storage::load(&self.cfg.storage)?;
        let entry = file.entry(self.cfg.name.clone()).or_default();
        // An account is kept only while it belongs to the configured CA (Traefik
        // compares the hosts of the account URL and of caServer).
        let account = entry.account.clone().filter(|a| {
            let uri = a.registration.as_ref().map_or("", |r| r.uri.as_str());
            host_of(uri) == host_of(&self.cfg.ca_server)
        });
        let mut acme;
        match account {
            Some(a) => {
                acme = Acme::connect(&self.cfg, AccountKey::from_der(&a.private_key)?)?;
                acme.kid = a.registration.map(|r| r.uri);
            }
            None => {
                let (key, der) = AccountKey::generate()?;
                acme = Acme::connect(&self.cfg, key)?;
                let (uri, body) = acme.register()?;
                entry.account = Some(Account {
                    email: self.cfg.email.clone(),
                    registration: Some(Registration { body, uri }),
                    private_key: der,
                    other: Default::default(),
                });
                storage::save(&self.cfg.storage, &file)?;
            }
        }
        let mut pending = Pending::new(self.cfg.http_challenge.as_ref().map(|h| h.0.as_str()));
        let issued = acme.order(&d.names(), &mut pending)?;
        let stored = StoredCert {
            domain: StoredDomain {
                main: d.main.clone(),
                sans: d.sans.clone(),
            },
            certificate: issued.chain_pem.into_bytes(),
            key: issued.key_pem.into_bytes(),
            store: crate::tls::DEFAULT_OPTIONS.to_string(),
        };
        let h = held(stored.clone()).map_err(AcmeError::Protocol)?;
        // Re-read: the account may have just been written.
        let mut file = storage::load(&self.cfg.storage)?;
        let entry = file.entry(self.cfg.name.clone()).or_default();
        let certs = entry.certificates.get_or_insert_with(Vec::new);
        certs.retain(|c| c.domain().names() != d.names());
        certs.push(stored);
        storage::save(&self.cfg.storage, &file)?;
        self.held.retain(|x| x.stored.domain().names() != d.names());
        self.held.push(h);
        self.dirty = true;
        Ok(())
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_and_hosts() {
        assert!(covers("a.test", "a.test"));
        assert!(covers("*.b.test", "a.b.test"));
        assert!(!covers("*.b.test", "x.a.b.test"));
        assert!(!covers("a.test", "b.test"));
        assert_eq!(host_of("https://ca.test:14000/dir"), "ca.test");
        assert_eq!(host_of("https://ca.test/acct/1"), "ca.test");
    }
}
