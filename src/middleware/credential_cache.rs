//! Per-worker memory of credentials an auth middleware already verified, so a
//! client that sends the same `Authorization` value on every request pays for
//! bcrypt once. Keys are salted SHA-1 digests of the whole header value (user
//! and password), never the value itself, so a different password for the
//! same user is a different key and is verified afresh. Only successes are
//! stored; the table is bounded (least recently used goes first) and lives in
//! the worker's view, so a reload starts it empty.

use std::hash::{BuildHasher, Hasher};

use sha1::{Digest, Sha1};

/// How many verified credentials one middleware remembers per worker.
pub const CAPACITY: usize = 64;

type Key = [u8; 20];

#[derive(Debug)]
pub struct CredentialCache {
    /// Random per cache: the keys say nothing outside this process.
    salt: [u8; 16],
    entries: Vec<(Key, u64)>,
    clock: u64,
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CredentialCache {
    pub fn new() -> Self {
        let random = || {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        };
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&random().to_le_bytes());
        salt[8..].copy_from_slice(&random().to_le_bytes());
        CredentialCache {
            salt,
            entries: Vec::with_capacity(CAPACITY),
            clock: 0,
        }
    }

    /// The key for an `Authorization` value.
    pub fn key(&self, authorization: &[u8]) -> Key {
        Sha1::new()
            .chain_update(self.salt)
            .chain_update(authorization)
            .finalize()
            .into()
    }

    /// Whether `key` was verified before; a hit counts as a use.
    pub fn hit(&mut self, key: &Key) -> bool {
        self.clock += 1;
        let now = self.clock;
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => {
                entry.1 = now;
                true
            }
            None => false,
        }
    }

    /// Remembers a verified key, dropping the least recently used when full.
    pub fn insert(&mut self, key: Key) {
        self.clock += 1;
        if self.entries.len() < CAPACITY {
            self.entries.push((key, self.clock));
        } else if let Some(oldest) = self.entries.iter_mut().min_by_key(|(_, used)| *used) {
            *oldest = (key, self.clock);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_what_was_inserted_and_evicts_the_least_recent() {
        let mut c = CredentialCache::new();
        let a = c.key(b"Basic YTph");
        assert_ne!(a, c.key(b"Basic YTpi"), "another password is another key");
        assert!(!c.hit(&a));
        c.insert(a);
        assert!(c.hit(&a));
        for i in 0..CAPACITY {
            if i % 8 == 0 {
                assert!(c.hit(&a), "a recently used entry stays");
            }
            c.insert(c.key(format!("Basic {i}").as_bytes()));
        }
        assert_eq!(c.len(), CAPACITY);
        assert!(c.hit(&a));
        assert!(!c.hit(&c.key(b"Basic 0")), "the oldest went first");
    }

    #[test]
    fn keys_are_salted_per_cache() {
        let (a, b) = (CredentialCache::new(), CredentialCache::new());
        assert_ne!(a.key(b"Basic YTph"), b.key(b"Basic YTph"));
    }
}
