//! JOSE for ACME (RFC 8555 §6.2, RFC 7515): the account key, its JWK and
//! thumbprint, flattened JWS bodies, and the external account binding's HMAC.
//!
//! A new account key is ECDSA P-256 (ES256): ring cannot generate RSA keys.
//! A Traefik storage file holds an RSA key (PKCS#1), which is read and used
//! as it is (RS256), so an existing account keeps working.

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};

use super::AcmeError;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub enum AccountKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl AccountKey {
    /// A new P-256 key and its PKCS#8 DER (what the storage keeps).
    pub fn generate() -> Result<(AccountKey, Vec<u8>), AcmeError> {
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(alg, &rng)
            .map_err(|_| AcmeError::Setup("cannot generate an account key".into()))?;
        let key = Self::from_der(der.as_ref())?;
        Ok((key, der.as_ref().to_vec()))
    }

    /// An RSA PKCS#1 key (Traefik's) or a P-256 PKCS#8 key (proxyd's).
    pub fn from_der(der: &[u8]) -> Result<AccountKey, AcmeError> {
        if let Ok(k) = RsaKeyPair::from_der(der) {
            return Ok(AccountKey::Rsa(k));
        }
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        EcdsaKeyPair::from_pkcs8(alg, der, &SystemRandom::new())
            .map(AccountKey::Ec)
            .map_err(|_| AcmeError::Setup("the stored account key is neither RSA nor P-256".into()))
    }

    fn alg(&self) -> &'static str {
        match self {
            AccountKey::Ec(_) => "ES256",
            AccountKey::Rsa(_) => "RS256",
        }
    }

    /// The JWK's members in lexicographic order (RFC 7638), as (name, value).
    fn members(&self) -> Vec<(&'static str, String)> {
        match self {
            AccountKey::Ec(k) => {
                let p = k.public_key().as_ref(); // 0x04 || x || y
                vec![
                    ("crv", "P-256".into()),
                    ("kty", "EC".into()),
                    ("x", b64(&p[1..33])),
                    ("y", b64(&p[33..65])),
                ]
            }
            AccountKey::Rsa(k) => {
                let p = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(k.public());
                let trim = |b: &[u8]| b64(&b[b.iter().take_while(|x| **x == 0).count()..]);
                vec![("e", trim(&p.e)), ("kty", "RSA".into()), ("n", trim(&p.n))]
            }
        }
    }

    pub fn jwk(&self) -> Value {
        let map = self
            .members()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)));
        Value::Object(map.collect())
    }

    /// base64url(SHA-256(canonical JWK)): the key authorization's suffix.
    pub fn thumbprint(&self) -> String {
        // Built by hand: RFC 7638 wants the members sorted, without whitespace.
        let members: Vec<String> = self
            .members()
            .iter()
            .map(|(k, v)| format!("\"{k}\":\"{v}\""))
            .collect();
        let canonical = format!("{{{}}}", members.join(","));
        b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, AcmeError> {
        let rng = SystemRandom::new();
        let fail = |_| AcmeError::Setup("signing failed".into());
        match self {
            AccountKey::Ec(k) => k.sign(&rng, msg).map(|s| s.as_ref().to_vec()).map_err(fail),
            AccountKey::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
        }
    }

    /// A flattened JWS: `kid` when the account exists, else the JWK.
    /// `payload` `None` is a POST-as-GET (empty payload).
    pub fn jws(
        &self,
        url: &str,
        nonce: &str,
        kid: Option<&str>,
        payload: Option<&Value>,
    ) -> Result<Vec<u8>, AcmeError> {
        let mut protected = json!({"alg": self.alg(), "nonce": nonce, "url": url});
        match kid {
            Some(kid) => protected["kid"] = json!(kid),
            None => protected["jwk"] = self.jwk(),
        }
        let protected = b64(protected.to_string().as_bytes());
        let payload = payload.map_or(String::new(), |p| b64(p.to_string().as_bytes()));
        let sig = self.sign(format!("{protected}.{payload}").as_bytes())?;
        let body = json!({"protected": protected, "payload": payload, "signature": b64(&sig)});
        Ok(body.to_string().into_bytes())
    }

    /// `externalAccountBinding` (RFC 8555 §7.3.4): the account JWK signed with
    /// the CA's HMAC key.
    pub fn eab(&self, kid: &str, hmac: &[u8], url: &str) -> Value {
        let protected = json!({"alg": "HS256", "kid": kid, "url": url});
        let protected = b64(protected.to_string().as_bytes());
        let payload = b64(self.jwk().to_string().as_bytes());
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, hmac);
        let tag = ring::hmac::sign(&key, format!("{protected}.{payload}").as_bytes());
        json!({"protected": protected, "payload": payload, "signature": b64(tag.as_ref())})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_and_signs() {
        let (key, der) = AccountKey::generate().unwrap();
        let again = AccountKey::from_der(&der).unwrap();
        assert_eq!(key.thumbprint(), again.thumbprint());
        assert_eq!(key.thumbprint().len(), 43);
        let body: Value = serde_json::from_slice(&key.jws("u", "n", None, None).unwrap()).unwrap();
        assert_eq!(body["payload"], "");
        assert!(AccountKey::from_der(b"junk").is_err());
    }
}
