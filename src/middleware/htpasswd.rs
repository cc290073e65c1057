//! htpasswd secrets as Traefik's basicAuth checks them (the `go-http-auth`
//! rules): bcrypt for `$2a$`, `$2b$`, `$2x$` and `$2y$`, SHA-1 for `{SHA}`,
//! and MD5-crypt for everything else (`$apr1$`, `$1$`: the magic is whatever
//! sits between the first two `$`). A secret in none of these shapes (plain
//! text, say) is accepted in the configuration but matches no password, as in
//! Traefik. Secrets are parsed once, at snapshot time.

use md5::{Digest, Md5};
use sha1::Sha1;

/// A parsed htpasswd secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// The full bcrypt hash (cost and salt inside).
    Bcrypt(String),
    /// The base64 text after `{SHA}`.
    Sha1(Box<[u8]>),
    /// MD5-crypt: `magic` is `$apr1$` or `$1$`; `full` is the whole secret.
    Md5Crypt {
        magic: Box<[u8]>,
        salt: Box<[u8]>,
        full: Box<[u8]>,
    },
    /// Matches nothing (not in a shape any scheme reads).
    Never,
}

impl Secret {
    pub fn parse(secret: &str) -> Secret {
        const BCRYPT: [&str; 4] = ["$2a$", "$2b$", "$2x$", "$2y$"];
        if let Some(b64) = secret.strip_prefix("{SHA}") {
            return Secret::Sha1(b64.as_bytes().into());
        }
        if BCRYPT.iter().any(|p| secret.starts_with(p)) {
            return Secret::Bcrypt(secret.to_string());
        }
        // `$magic$salt$hash`: splitting on `$` at most four ways gives four parts.
        let parts: Vec<&str> = secret.splitn(4, '$').collect();
        match parts.as_slice() {
            ["", magic, salt, _] => Secret::Md5Crypt {
                magic: format!("${magic}$").into_bytes().into(),
                salt: salt.as_bytes().into(),
                full: secret.as_bytes().into(),
            },
            _ => Secret::Never,
        }
    }

    /// Whether `password` matches. bcrypt is slow by design: callers cache.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Secret::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            Secret::Sha1(expected) => {
                let digest = Sha1::digest(password);
                let mut b64 = [0u8; 28];
                let n = encode(&digest, &mut b64);
                same(&b64[..n], expected)
            }
            Secret::Md5Crypt { magic, salt, full } => {
                let prefix = magic.len() + salt.len() + 1;
                full.len() == prefix + 22
                    && same(&md5_crypt(password, salt, magic), &full[prefix..])
            }
            Secret::Never => false,
        }
    }
}

fn encode(bytes: &[u8], out: &mut [u8]) -> usize {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, out)
        .unwrap_or(0)
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The 22-character hash part of an MD5-crypt secret (Poul-Henning Kamp's
/// algorithm; Apache's `$apr1$` is the same with another magic).
pub fn md5_crypt(password: &[u8], salt: &[u8], magic: &[u8]) -> [u8; 22] {
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut d = Md5::new()
        .chain_update(password)
        .chain_update(magic)
        .chain_update(salt);
    for chunk in password.chunks(16) {
        d.update(&alternate[..chunk.len()]);
    }
    // One byte per bit of the password's length: a zero for a set bit, the
    // password's first byte for a clear one.
    let mut n = password.len();
    while n != 0 {
        d.update(if n & 1 == 1 {
            &[0u8][..]
        } else {
            &password[..1]
        });
        n >>= 1;
    }
    let mut digest: [u8; 16] = d.finalize().into();
    // 1000 rounds mixing the digest, salt and password in a fixed pattern, so
    // the hash costs more than one MD5.
    for round in 0..1000 {
        let mut r = Md5::new();
        r.update(if round % 2 == 1 {
            password
        } else {
            &digest[..]
        });
        if round % 3 != 0 {
            r.update(salt);
        }
        if round % 7 != 0 {
            r.update(password);
        }
        r.update(if round % 2 == 1 {
            &digest[..]
        } else {
            password
        });
        digest = r.finalize().into();
    }
    crypt_base64(&digest)
}

/// crypt's own base64 (alphabet `./0-9A-Za-z`, least significant bits first)
/// over the digest bytes in MD5-crypt's order.
fn crypt_base64(d: &[u8; 16]) -> [u8; 22] {
    const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const ORDER: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];
    let mut out = [0u8; 22];
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut at = 0;
    for i in ORDER {
        acc |= u32::from(d[i]) << bits;
        bits += 8;
        while bits >= 6 {
            out[at] = ALPHABET[(acc & 0x3f) as usize];
            at += 1;
            acc >>= 6;
            bits -= 6;
        }
    }
    out[at] = ALPHABET[(acc & 0x3f) as usize];
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str, secret: &str) {
        let s = Secret::parse(secret);
        assert!(s.verify(password.as_bytes()), "{password} vs {secret}");
        let wrong = format!("{password}x");
        assert!(!s.verify(wrong.as_bytes()), "{wrong} vs {secret}");
        let mut broken = secret[..secret.len() - 1].to_string();
        broken.push(if secret.ends_with('x') { 'y' } else { 'x' });
        assert!(
            !Secret::parse(&broken).verify(password.as_bytes()),
            "{broken}"
        );
    }

    #[test]
    fn apr1_and_md5_crypt_vectors() {
        // Traefik's own test user, then htpasswd and openssl outputs.
        check("test", "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/");
        check("apache", "$apr1$J.w5a/..$IW9y6DR0oO/ADuhlMF5/X1");
        check("htpasswd-md5", "$apr1$FVVioVP7$ZdIWPG1p4E/ErujO7kA2n0");
        check("openssl-md5", "$1$mvmz31IB$U9KpHBLegga2doA0e3s3N0");
        check("pass", "$1$YeNsbWdH$wvOF8JdqsoiLix754LTW90");
        check("topsecret", "$apr1$JI4wh3am$AmhephVqLTUyAVpFQeHZC0");
    }

    #[test]
    fn sha1_vectors() {
        check("hello", "{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=");
        check("htpasswd-sha", "{SHA}vFznddje0Ht4+pmO0FaxwrUKN/M=");
    }

    #[test]
    fn bcrypt_vectors_every_prefix() {
        check(
            "hello3",
            "$2y$05$ih3C91zUBSTFcAh2mQnZYuob0UOZVEf16wl/ukgjDhjvj.xgM1WwS",
        );
        check(
            "abc",
            "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i",
        );
        check(
            "",
            "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",
        );
        // The same hash under the other minor letters reads the same.
        for p in ["$2b$", "$2x$"] {
            let h = format!("{p}06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i");
            check("abc", &h);
        }
    }

    #[test]
    fn shapes_no_scheme_reads_match_nothing() {
        for s in ["test", "", "$apr10.KbAJur$4G9MiqUjDLCuihkMfmg6e1", "{SHA}"] {
            let secret = Secret::parse(s);
            assert!(!secret.verify(b"test"), "{s:?}");
            assert!(!secret.verify(s.as_bytes()), "{s:?} matched itself");
        }
        assert_eq!(Secret::parse("test"), Secret::Never);
    }
}
