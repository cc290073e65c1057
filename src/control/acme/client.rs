//! The ACME protocol (RFC 8555) over [`https::Client`]: directory, nonces,
//! account, and one order from identifiers to a certificate chain, answering
//! http-01 or tls-alpn-01 through the workers' challenge table.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::AcmeError;
use super::challenge::Pending;
use super::https::{Client, Response};
use super::jws::{AccountKey, b64};
use crate::config::{AcmeResolver, KeyType};

/// How often an authorization or an order is polled.
const POLL: Duration = Duration::from_millis(250);

pub struct Acme<'r> {
    r: &'r AcmeResolver,
    http: Client,
    new_nonce: String,
    new_account: String,
    new_order: String,
    pub key: AccountKey,
    /// The account URL, once registered.
    pub kid: Option<String>,
    nonce: Option<String>,
}

/// What an order produced.
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str, AcmeError> {
    v[name]
        .as_str()
        .ok_or_else(|| AcmeError::Protocol(format!("`{name}` missing in {v}")))
}

impl<'r> Acme<'r> {
    pub fn connect(r: &'r AcmeResolver, key: AccountKey) -> Result<Acme<'r>, AcmeError> {
        let http = Client::new(r)?;
        let dir = http.request(&r.ca_server, None)?;
        let dir = json_of(&dir)?;
        Ok(Acme {
            r,
            new_nonce: field(&dir, "newNonce")?.into(),
            new_account: field(&dir, "newAccount")?.into(),
            new_order: field(&dir, "newOrder")?.into(),
            http,
            key,
            kid: None,
            nonce: None,
        })
    }

    fn nonce(&mut self) -> Result<String, AcmeError> {
        if let Some(n) = self.nonce.take() {
            return Ok(n);
        }
        let resp = self.http.request(&self.new_nonce, None)?;
        resp.header("replay-nonce")
            .map(str::to_string)
            .ok_or_else(|| AcmeError::Protocol("no Replay-Nonce from newNonce".into()))
    }

    /// A signed POST; retried once on `badNonce`, as RFC 8555 §6.5 allows.
    fn post(&mut self, url: &str, payload: Option<&Value>) -> Result<Response, AcmeError> {
        for attempt in 0..2 {
            let nonce = self.nonce()?;
            let body = self.key.jws(url, &nonce, self.kid.as_deref(), payload)?;
            let resp = self.http.request(url, Some(&body))?;
            self.nonce = resp.header("replay-nonce").map(str::to_string);
            if resp.status < 400 {
                return Ok(resp);
            }
            let problem: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
            let kind = problem["type"].as_str().unwrap_or("").to_string();
            if attempt == 0 && kind.ends_with(":badNonce") {
                continue;
            }
            return Err(AcmeError::Acme {
                url: url.into(),
                status: resp.status,
                detail: format!("{kind}: {}", problem["detail"].as_str().unwrap_or("")),
            });
        }
        unreachable!("the loop returns on its second pass")
    }

    /// Registers (or finds) the account; returns its URL and body.
    pub fn register(&mut self) -> Result<(String, Value), AcmeError> {
        let mut payload = json!({"termsOfServiceAgreed": true});
        if !self.r.email.is_empty() {
            payload["contact"] = json!([format!("mailto:{}", self.r.email)]);
        }
        if let Some(eab) = &self.r.eab {
            payload["externalAccountBinding"] =
                self.key.eab(&eab.kid, &eab.hmac, &self.new_account);
        }
        let url = self.new_account.clone();
        let resp = self.post(&url, Some(&payload))?;
        let kid = resp
            .header("location")
            .ok_or_else(|| AcmeError::Protocol("no account Location".into()))?
            .to_string();
        self.kid = Some(kid.clone());
        Ok((kid, json_of(&resp)?))
    }

    /// One order for `names` (the first is the subject).
    pub fn order(&mut self, names: &[String], pending: &mut Pending) -> Result<Issued, AcmeError> {
        let ids: Vec<Value> = names
            .iter()
            .map(|n| json!({"type": "dns", "value": n}))
            .collect();
        let url = self.new_order.clone();
        let resp = self.post(&url, Some(&json!({"identifiers": ids})))?;
        let order_url = resp.header("location").unwrap_or_default().to_string();
        let order = json_of(&resp)?;
        let authzs: Vec<String> = order["authorizations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        let result = authzs.iter().try_for_each(|a| self.authorize(a, pending));
        pending.clear();
        result?;
        let (key_pem, csr) = csr(names, self.r.key_type)?;
        let finalize = field(&order, "finalize")?.to_string();
        self.post(&finalize, Some(&json!({"csr": b64(&csr)})))?;
        let order = self.poll(&order_url, "order", self.r.certificate_timeout)?;
        let cert_url = field(&order, "certificate")?.to_string();
        let chain = self.post(&cert_url, None)?;
        let chain_pem = String::from_utf8(chain.body)
            .map_err(|_| AcmeError::Protocol("the certificate is not PEM".into()))?;
        Ok(Issued { chain_pem, key_pem })
    }

    /// Answers one authorization with the first challenge kind configured.
    fn authorize(&mut self, url: &str, pending: &mut Pending) -> Result<(), AcmeError> {
        let authz = json_of(&self.post(url, None)?)?;
        if authz["status"] == "valid" {
            return Ok(());
        }
        let name = authz["identifier"]["value"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let wanted = |t: &str| match t {
            "http-01" => self.r.http_challenge.as_ref().map(|h| h.1),
            "tls-alpn-01" => self.r.tls_challenge,
            _ => None,
        };
        let (ch, delay) = authz["challenges"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|c| Some((c, wanted(c["type"].as_str()?)?)))
            .ok_or_else(|| {
                AcmeError::Protocol(format!("{name}: no challenge proxyd can answer"))
            })?;
        let token = field(ch, "token")?;
        let key_auth = format!("{token}.{}", self.key.thumbprint());
        match ch["type"].as_str() {
            Some("http-01") => pending.add_http(token, &key_auth),
            _ => pending.add_alpn(&name, &key_auth)?,
        }
        std::thread::sleep(delay);
        let ch_url = field(ch, "url")?.to_string();
        self.post(&ch_url, Some(&json!({})))?;
        self.poll(url, "authorization", self.r.client_timeout)
            .map(drop)
    }

    /// Polls until `valid`; `invalid` is an error carrying the CA's reason.
    fn poll(&mut self, url: &str, what: &str, limit: Duration) -> Result<Value, AcmeError> {
        let deadline = Instant::now() + limit;
        loop {
            let v = json_of(&self.post(url, None)?)?;
            match v["status"].as_str() {
                Some("valid") => return Ok(v),
                Some("invalid") => {
                    let errors: Vec<String> = v["challenges"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("error"))
                        .chain(v.get("error"))
                        .map(|e| format!("{}: {}", e["type"], e["detail"]))
                        .collect();
                    let detail = format!("{what} is invalid: {}", errors.join("; "));
                    return Err(AcmeError::Acme {
                        url: url.into(),
                        status: 200,
                        detail,
                    });
                }
                _ if Instant::now() > deadline => {
                    return Err(AcmeError::Protocol(format!("{what} {url}: timed out")));
                }
                _ => std::thread::sleep(POLL),
            }
        }
    }
}

fn json_of(r: &Response) -> Result<Value, AcmeError> {
    serde_json::from_slice(&r.body)
        .map_err(|e| AcmeError::Protocol(format!("bad JSON (status {}): {e}", r.status)))
}

/// A new certificate key (PEM) and the CSR (DER) for `names`.
fn csr(names: &[String], kt: KeyType) -> Result<(String, Vec<u8>), AcmeError> {
    let alg = match kt {
        KeyType::Ec256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::Ec384 => &rcgen::PKCS_ECDSA_P384_SHA384,
    };
    let err = |e: rcgen::Error| AcmeError::Setup(format!("CSR: {e}"));
    let key = rcgen::KeyPair::generate_for(alg).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0].as_str());
    let csr = params.serialize_request(&key).map_err(err)?;
    Ok((key.serialize_pem(), csr.der().to_vec()))
}
