//! The storage file in Traefik's acme.json format, so a Traefik file keeps
//! working and the reverse: one object per resolver name with `Account`
//! (`Email`, `Registration` {`body`, `uri`}, `PrivateKey`: DER, base64) and
//! `Certificates` ([{`domain` {`main`, `sans`}, `certificate`: PEM chain,
//! `key`: PEM key, both base64, `Store`}]). Other resolvers' entries and
//! unknown members are kept. Written whole, atomically: a temporary file
//! (mode 0600) in the same directory, fsynced, then renamed over the old one.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::AcmeError;
use crate::config::Domain;

/// The whole file: resolver name → its data.
pub type File = BTreeMap<String, Stored>;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Stored {
    #[serde(rename = "Account")]
    pub account: Option<Account>,
    #[serde(rename = "Certificates")]
    pub certificates: Option<Vec<StoredCert>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    #[serde(rename = "Email", default)]
    pub email: String,
    #[serde(rename = "Registration")]
    pub registration: Option<Registration>,
    #[serde(rename = "PrivateKey", with = "go_bytes")]
    pub private_key: Vec<u8>,
    /// Members this version does not know (older Traefik wrote `KeyType`).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    pub body: Value,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDomain {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub main: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCert {
    pub domain: StoredDomain,
    #[serde(with = "go_bytes")]
    pub certificate: Vec<u8>,
    #[serde(with = "go_bytes")]
    pub key: Vec<u8>,
    #[serde(rename = "Store", default)]
    pub store: String,
}

impl StoredCert {
    pub fn domain(&self) -> Domain {
        Domain {
            main: self.domain.main.clone(),
            sans: self.domain.sans.clone(),
        }
    }
}

/// Go's `[]byte` in JSON: standard base64 with padding.
mod go_bytes {
    use base64::Engine;

    use super::*;

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// Reads the file; a missing or empty file is an empty store (Traefik's too).
pub fn load(path: &Path) -> Result<File, AcmeError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::new()),
        Err(e) => return Err(AcmeError::Storage(format!("{}: {e}", path.display()))),
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(File::new());
    }
    serde_json::from_slice(&text)
        .map_err(|e| AcmeError::Storage(format!("{}: {e}", path.display())))
}

/// Replaces the file with `file`, atomically, mode 0600.
pub fn save(path: &Path, file: &File) -> Result<(), AcmeError> {
    let err = |e: std::io::Error| AcmeError::Storage(format!("{}: {e}", path.display()));
    let text = serde_json::to_vec_pretty(file).map_err(|e| err(std::io::Error::other(e)))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(&text).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape Traefik writes (trimmed): read, written back, read again.
    #[test]
    fn traefik_file_round_trips() {
        let text = r#"{"le": {"Account": {"Email": "a@b.c", "Registration": {"body": {"status": "valid"}, "uri": "https://ca/acct/1"}, "PrivateKey": "AQID", "KeyType": "4096"},
            "Certificates": [{"domain": {"main": "a.test", "sans": ["b.test"]}, "certificate": "Y2VydA==", "key": "a2V5", "Store": "default"}]}}"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.json");
        std::fs::write(&path, text).unwrap();
        let file = load(&path).unwrap();
        save(&path, &file).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let again = load(&path).unwrap();
        let le = &again["le"];
        let acct = le.account.as_ref().unwrap();
        assert_eq!(
            (acct.private_key.as_slice(), acct.other["KeyType"].as_str()),
            (&[1u8, 2, 3][..], Some("4096"))
        );
        let c = &le.certificates.as_ref().unwrap()[0];
        assert_eq!(
            (&c.certificate[..], &c.key[..], c.store.as_str()),
            (&b"cert"[..], &b"key"[..], "default")
        );
        assert_eq!(c.domain().names(), ["a.test", "b.test"]);
        assert!(load(&dir.path().join("none.json")).unwrap().is_empty());
    }
}
