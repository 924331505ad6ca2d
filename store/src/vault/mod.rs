//! The vault: secret values, encrypted, in their own keyspace beside the log.
//!
//! Envelope encryption. A [`MasterKey`] from outside the store (a systemd
//! credential, a key file, an environment variable) wraps a keyring of data
//! keys; each secret value is sealed with AES-256-GCM-SIV under one data key,
//! with a fresh nonce and with its name and data-key id as associated data,
//! so a ciphertext copied to another name does not open.
//!
//! Values are not in the chained log: the log is append-only and retention
//! would never erase them. The caller records each change as an event
//! without the value. Every change here is one atomic, fsync'd fjall batch,
//! so a crash at any point leaves either the old or the new state, and every
//! secret readable. Layout and formats: `docs/storage.md`.

mod crypto;
#[cfg(test)]
mod tests;

pub use crypto::{Fingerprint, KeyShapeError, MasterKey};

use crate::log::Log;
use crate::secret::SecretValue;
use crypto::{DataKey, NONCE_LEN};
use fjall::{Database, Keyspace, PersistMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const HEADER_KEY: &[u8] = b"h";
const DEK_PREFIX: u8 = b'd';
const SECRET_PREFIX: u8 = b's';
/// Never a real key: its tombstone forces a new table version (see `purge`).
const PURGE_KEY: &[u8] = b"~";
const VAULT_FORMAT: u32 = 1;
/// Longest secret name.
pub const MAX_NAME: usize = 128;
/// Largest secret value.
pub const MAX_VALUE: usize = 64 * 1024;

/// Errors of the vault. None contains a value or key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key given is not the one the keyring is wrapped under.
    #[error(
        "the secrets keyring is wrapped under master key {expected}, but the key found ({source_name}) is {found}; \
         start vigild with the master key the secrets were stored under (after `vigilctl secrets rewrap`, the new one)"
    )]
    WrongMasterKey {
        /// Fingerprint the keyring records.
        expected: Fingerprint,
        /// Fingerprint of the key given.
        found: Fingerprint,
        /// Where the key came from.
        source_name: String,
    },
    /// Something stored does not decrypt or decode.
    #[error("the secrets keyring is damaged: {0}")]
    Damaged(String),
    /// A name that cannot be a secret's.
    #[error("invalid secret name `{0}`: use 1 to {MAX_NAME} characters from A-Z a-z 0-9 . _ -")]
    InvalidName(String),
    /// A value that cannot be stored.
    #[error("invalid secret value: {0}")]
    InvalidValue(String),
    /// No such secret.
    #[error("no secret named `{0}`; `vigilctl secrets list` shows them")]
    NotFound(String),
    /// The storage engine failed.
    #[error("secrets storage failed: {0}")]
    Storage(String),
}

type Result<T> = std::result::Result<T, VaultError>;

fn storage(e: impl std::fmt::Display) -> VaultError {
    VaultError::Storage(e.to_string())
}

#[derive(Clone, Copy, Serialize, Deserialize)]
struct Header {
    format: u32,
    master: Fingerprint,
    active: u32,
    next_id: u32,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    created: i64,
    nonce: [u8; NONCE_LEN],
    #[serde(with = "serde_bytes")]
    wrapped: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct StoredSecret {
    key_id: u32,
    created: i64,
    updated: i64,
    nonce: [u8; NONCE_LEN],
    #[serde(with = "serde_bytes")]
    sealed: Vec<u8>,
}

/// What `list` shows of a secret: never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretInfo {
    /// Name.
    pub name: String,
    /// Data key that seals it.
    pub key_id: u32,
    /// First set (UTC micros).
    pub created: i64,
    /// Last set or re-encrypted (UTC micros).
    pub updated: i64,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The new active data key.
    pub key_id: u32,
    /// Secrets re-encrypted under it.
    pub reencrypted: usize,
    /// Data keys erased because nothing used them any more.
    pub retired: Vec<u32>,
}

struct Ring {
    master: MasterKey,
    /// `None` until the first secret is stored.
    header: Option<Header>,
    keys: BTreeMap<u32, DataKey>,
}

/// Handle to the vault of one store. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    space: Keyspace,
    ring: Mutex<Ring>,
}

fn dek_key(id: u32) -> Vec<u8> {
    let mut k = vec![DEK_PREFIX];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn secret_key(name: &str) -> Vec<u8> {
    let mut k = vec![SECRET_PREFIX];
    k.extend_from_slice(name.as_bytes());
    k
}

fn dek_aad(id: u32) -> Vec<u8> {
    let mut aad = b"vigil-dek\0".to_vec();
    aad.extend_from_slice(&id.to_be_bytes());
    aad
}

fn secret_aad(name: &str, key_id: u32) -> Vec<u8> {
    let mut aad = b"vigil-secret\0".to_vec();
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Whether `name` is acceptable as a secret name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(VaultError::InvalidName(
            name.chars().take(MAX_NAME).collect(),
        ))
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(storage)
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| VaultError::Damaged(format!("{what}: {e}")))
}

impl Vault {
    /// Whether any encrypted secret exists in this store (then a master key
    /// is required to start).
    pub fn secrets_exist(log: &Log) -> Result<bool> {
        let space = &log.shared().secrets;
        Ok(space
            .prefix([SECRET_PREFIX])
            .next()
            .map(|g| g.key())
            .transpose()
            .map_err(storage)?
            .is_some())
    }

    /// The fingerprint of the master key the keyring is wrapped under, if
    /// there is a keyring.
    pub fn keyring_master(log: &Log) -> Result<Option<Fingerprint>> {
        let space = &log.shared().secrets;
        match space.get(HEADER_KEY).map_err(storage)? {
            Some(bytes) => Ok(Some(decode::<Header>(&bytes, "header")?.master)),
            None => Ok(None),
        }
    }

    /// Opens the vault of `log` with `master`, unwrapping every data key.
    /// `source_name` says where the key came from, for errors.
    pub fn open(log: &Log, master: MasterKey, source_name: &str) -> Result<Vault> {
        let shared = log.shared();
        let space = shared.secrets.clone();
        let mut ring = Ring {
            master,
            header: None,
            keys: BTreeMap::new(),
        };
        if let Some(bytes) = space.get(HEADER_KEY).map_err(storage)? {
            let header: Header = decode(&bytes, "header")?;
            if header.format != VAULT_FORMAT {
                return Err(VaultError::Damaged(format!(
                    "keyring format {} is not {VAULT_FORMAT}; upgrade Vigil",
                    header.format
                )));
            }
            let found = ring.master.fingerprint();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                &header.master.0[..],
                &found.0[..],
            )) {
                return Err(VaultError::WrongMasterKey {
                    expected: header.master,
                    found,
                    source_name: source_name.to_string(),
                });
            }
            for item in space.prefix([DEK_PREFIX]) {
                let (k, v) = item.into_inner().map_err(storage)?;
                let id = <[u8; 4]>::try_from(&k[1..])
                    .map(u32::from_be_bytes)
                    .map_err(|_| VaultError::Damaged("a data key record has a bad id".into()))?;
                let stored: StoredKey = decode(&v, "data key")?;
                let plain = crypto::open(
                    ring.master.bytes(),
                    &stored.nonce,
                    &dek_aad(id),
                    &stored.wrapped,
                )
                .ok_or_else(|| {
                    VaultError::Damaged(format!(
                        "data key {id} does not unwrap under the master key"
                    ))
                })?;
                let key = <[u8; 32]>::try_from(plain.as_slice()).map_err(|_| {
                    VaultError::Damaged(format!("data key {id} has the wrong length"))
                })?;
                ring.keys.insert(id, DataKey(zeroize::Zeroizing::new(key)));
            }
            if !ring.keys.contains_key(&header.active) {
                return Err(VaultError::Damaged(format!(
                    "the active data key {} is missing",
                    header.active
                )));
            }
            ring.header = Some(header);
        }
        Ok(Vault {
            inner: Arc::new(Inner {
                db: shared.db.clone(),
                space,
                ring: Mutex::new(ring),
            }),
        })
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding the lock cannot leave the ring half-changed:
        // every change is built first and swapped in after its batch commits.
        self.inner.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The master key's fingerprint.
    pub fn master(&self) -> Fingerprint {
        self.ring().master.fingerprint()
    }

    /// The active data key, if the keyring exists yet.
    pub fn active_key(&self) -> Option<u32> {
        self.ring().header.as_ref().map(|h| h.active)
    }

    /// Stores `value` under `name` (replacing any previous value), durably.
    /// Returns the data key id that seals it.
    pub fn set(&self, name: &str, value: &SecretValue, now: i64) -> Result<u32> {
        check_name(name)?;
        if value.is_empty() || value.len() > MAX_VALUE {
            return Err(VaultError::InvalidValue(format!(
                "must be 1 to {MAX_VALUE} bytes, got {}",
                value.len()
            )));
        }
        let mut ring = self.ring();
        let mut batch = self.inner.db.batch().durability(Some(PersistMode::SyncAll));
        let mut new_key = None;
        let active = match &ring.header {
            Some(h) => h.active,
            None => {
                // First secret: create the keyring in the same batch.
                let key = DataKey::generate().map_err(storage)?;
                let (nonce, wrapped) =
                    crypto::seal(ring.master.bytes(), &dek_aad(1), key.bytes()).map_err(storage)?;
                batch.insert(
                    &self.inner.space,
                    dek_key(1),
                    encode(&StoredKey {
                        created: now,
                        nonce,
                        wrapped,
                    })?,
                );
                let header = Header {
                    format: VAULT_FORMAT,
                    master: ring.master.fingerprint(),
                    active: 1,
                    next_id: 2,
                };
                batch.insert(&self.inner.space, HEADER_KEY, encode(&header)?);
                new_key = Some((key, header));
                1
            }
        };
        let created = match self.inner.space.get(secret_key(name)).map_err(storage)? {
            Some(bytes) => decode::<StoredSecret>(&bytes, name)?.created,
            None => now,
        };
        let dek = match &new_key {
            Some((key, _)) => key.bytes(),
            None => ring.keys[&active].bytes(),
        };
        let (nonce, sealed) =
            crypto::seal(dek, &secret_aad(name, active), value.expose()).map_err(storage)?;
        let record = StoredSecret {
            key_id: active,
            created,
            updated: now,
            nonce,
            sealed,
        };
        batch.insert(&self.inner.space, secret_key(name), encode(&record)?);
        batch.commit().map_err(storage)?;
        if let Some((key, header)) = new_key {
            ring.keys.insert(1, key);
            ring.header = Some(header);
        }
        Ok(active)
    }

    /// The value of `name`, decrypted; `Ok(None)` when there is no such secret.
    pub fn get(&self, name: &str) -> Result<Option<SecretValue>> {
        check_name(name)?;
        let ring = self.ring();
        let Some(bytes) = self.inner.space.get(secret_key(name)).map_err(storage)? else {
            return Ok(None);
        };
        let record: StoredSecret = decode(&bytes, name)?;
        Self::decrypt(&ring, name, &record).map(Some)
    }

    fn decrypt(ring: &Ring, name: &str, record: &StoredSecret) -> Result<SecretValue> {
        let key = ring.keys.get(&record.key_id).ok_or_else(|| {
            VaultError::Damaged(format!(
                "secret `{name}` names data key {}, which does not exist",
                record.key_id
            ))
        })?;
        let plain = crypto::open(
            key.bytes(),
            &record.nonce,
            &secret_aad(name, record.key_id),
            &record.sealed,
        )
        .ok_or_else(|| {
            VaultError::Damaged(format!(
                "secret `{name}` does not decrypt: its ciphertext was altered or moved from another name; set it again"
            ))
        })?;
        Ok(SecretValue::new(plain.to_vec()))
    }

    /// Removes `name`; false when it did not exist.
    pub fn delete(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        let _ring = self.ring();
        if self
            .inner
            .space
            .get(secret_key(name))
            .map_err(storage)?
            .is_none()
        {
            return Ok(false);
        }
        let mut batch = self.inner.db.batch().durability(Some(PersistMode::SyncAll));
        batch.remove(&self.inner.space, secret_key(name));
        batch.commit().map_err(storage)?;
        drop(_ring);
        self.purge()?;
        Ok(true)
    }

    /// Every secret's metadata, by name.
    pub fn list(&self) -> Result<Vec<SecretInfo>> {
        let _ring = self.ring();
        self.records()?
            .into_iter()
            .map(|(name, r)| {
                Ok(SecretInfo {
                    name,
                    key_id: r.key_id,
                    created: r.created,
                    updated: r.updated,
                })
            })
            .collect()
    }

    /// The metadata of at most `max` secrets whose names sort after
    /// `after` (from the first when `None`), by name: a page of
    /// [`Vault::list`] that reads only that page.
    pub fn list_page(&self, after: Option<&str>, max: usize) -> Result<Vec<SecretInfo>> {
        use std::ops::Bound;
        let _ring = self.ring();
        let from = after.map_or(Bound::Included(vec![SECRET_PREFIX]), |name| {
            Bound::Excluded(secret_key(name))
        });
        let to = Bound::Excluded(vec![SECRET_PREFIX + 1]);
        let mut out = Vec::new();
        for item in self.inner.space.range((from, to)).take(max) {
            let (k, v) = item.into_inner().map_err(storage)?;
            let name = String::from_utf8(k[1..].to_vec())
                .map_err(|_| VaultError::Damaged("a secret has a non-UTF-8 name".into()))?;
            let r: StoredSecret = decode(&v, &name)?;
            out.push(SecretInfo {
                name,
                key_id: r.key_id,
                created: r.created,
                updated: r.updated,
            });
        }
        Ok(out)
    }

    fn records(&self) -> Result<Vec<(String, StoredSecret)>> {
        let mut out = Vec::new();
        for item in self.inner.space.prefix([SECRET_PREFIX]) {
            let (k, v) = item.into_inner().map_err(storage)?;
            let name = String::from_utf8(k[1..].to_vec())
                .map_err(|_| VaultError::Damaged("a secret has a non-UTF-8 name".into()))?;
            let record = decode(&v, &name)?;
            out.push((name, record));
        }
        Ok(out)
    }

    /// Decrypts every secret; returns the names that fail and why.
    pub fn check(&self) -> Result<Vec<(String, String)>> {
        let ring = self.ring();
        Ok(self
            .records()?
            .into_iter()
            .filter_map(|(name, r)| {
                Self::decrypt(&ring, &name, &r)
                    .err()
                    .map(|e| (name, e.to_string()))
            })
            .collect())
    }

    /// Makes a new data key active, re-encrypts every secret under it and
    /// erases the data keys nothing uses any more, in one atomic batch.
    pub fn rotate(&self, now: i64) -> Result<Rotation> {
        let mut ring = self.ring();
        let Some(header) = ring.header else {
            return Ok(Rotation {
                key_id: 0,
                reencrypted: 0,
                retired: Vec::new(),
            });
        };
        let id = header.next_id;
        let key = DataKey::generate().map_err(storage)?;
        let mut batch = self.inner.db.batch().durability(Some(PersistMode::SyncAll));
        let (nonce, wrapped) =
            crypto::seal(ring.master.bytes(), &dek_aad(id), key.bytes()).map_err(storage)?;
        batch.insert(
            &self.inner.space,
            dek_key(id),
            encode(&StoredKey {
                created: now,
                nonce,
                wrapped,
            })?,
        );
        let records = self.records()?;
        for (name, record) in &records {
            let value = Self::decrypt(&ring, name, record)?;
            let (nonce, sealed) = crypto::seal(key.bytes(), &secret_aad(name, id), value.expose())
                .map_err(storage)?;
            let record = StoredSecret {
                key_id: id,
                created: record.created,
                updated: now,
                nonce,
                sealed,
            };
            batch.insert(&self.inner.space, secret_key(name), encode(&record)?);
        }
        let retired: Vec<u32> = ring.keys.keys().copied().collect();
        for old in &retired {
            batch.remove(&self.inner.space, dek_key(*old));
        }
        let header = Header {
            format: VAULT_FORMAT,
            master: header.master,
            active: id,
            next_id: id
                .checked_add(1)
                .ok_or_else(|| storage("data key ids exhausted"))?,
        };
        batch.insert(&self.inner.space, HEADER_KEY, encode(&header)?);
        batch.commit().map_err(storage)?;
        ring.keys.clear();
        ring.keys.insert(id, key);
        ring.header = Some(header);
        drop(ring);
        self.purge()?;
        Ok(Rotation {
            key_id: id,
            reencrypted: records.len(),
            retired,
        })
    }

    /// Re-wraps every data key under `new_master`, in one atomic batch; the
    /// vault uses `new_master` from then on.
    pub fn rewrap(&self, new_master: MasterKey) -> Result<Fingerprint> {
        let mut ring = self.ring();
        let fingerprint = new_master.fingerprint();
        if let Some(header) = ring.header {
            let mut batch = self.inner.db.batch().durability(Some(PersistMode::SyncAll));
            for (id, key) in &ring.keys {
                let (nonce, wrapped) = crypto::seal(new_master.bytes(), &dek_aad(*id), key.bytes())
                    .map_err(storage)?;
                let created = match self.inner.space.get(dek_key(*id)).map_err(storage)? {
                    Some(bytes) => decode::<StoredKey>(&bytes, "data key")?.created,
                    None => 0,
                };
                batch.insert(
                    &self.inner.space,
                    dek_key(*id),
                    encode(&StoredKey {
                        created,
                        nonce,
                        wrapped,
                    })?,
                );
            }
            let header = Header {
                master: fingerprint,
                ..header
            };
            batch.insert(&self.inner.space, HEADER_KEY, encode(&header)?);
            batch.commit().map_err(storage)?;
            ring.header = Some(header);
        }
        ring.master = new_master;
        drop(ring);
        self.purge()?;
        Ok(fingerprint)
    }

    /// Pushes superseded records (old wraps, old ciphertexts, deleted
    /// secrets) out of memtables and tables now rather than at some later
    /// compaction. They remain in the store's write-ahead journal until
    /// fjall rotates it (after 64 MB of writes), which no public call can
    /// force: see docs/storage.md.
    fn purge(&self) -> Result<()> {
        let space = &self.inner.space;
        space.rotate_memtable_and_wait().map_err(storage)?;
        space.major_compact().map_err(storage)?;
        space.remove(PURGE_KEY).map_err(storage)?;
        space.rotate_memtable_and_wait().map_err(storage)?;
        self.inner.db.persist(PersistMode::SyncAll).map_err(storage)
    }
}
