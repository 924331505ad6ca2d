//! The current sealing key on disk (`seal.key`).
//!
//! The key lives in its own 56-byte file, not in the LSM tree, because an
//! LSM keeps superseded values in journals and tables until compaction, and
//! an old epoch key that lingers defeats forward security.
//!
//! Replacing it: write `seal.key.next` and fsync it, overwrite the old
//! `seal.key` with zeros in place and fsync (best effort erasure: flash and
//! copy-on-write filesystems may keep old blocks), rename `next` over it and
//! fsync the directory. A crash at any point leaves exactly one complete key
//! that [`load`] finds.
//!
//! Layout: `"VGLSEAL1"` ‖ epoch (u64 BE) ‖ key (32) ‖ first 8 bytes of
//! SHA-256 over the preceding 48 bytes.

use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::seal::EpochKey;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use zeroize::Zeroizing;

/// File name of the current sealing key inside the store directory.
pub const KEY_FILE: &str = "seal.key";
const NEXT_FILE: &str = "seal.key.next";
const MAGIC: &[u8; 8] = b"VGLSEAL1";
const LEN: usize = 56;

fn encode(key: &EpochKey) -> Zeroizing<[u8; LEN]> {
    let mut buf = Zeroizing::new([0u8; LEN]);
    buf[..8].copy_from_slice(MAGIC);
    buf[8..16].copy_from_slice(&key.epoch().to_be_bytes());
    buf[16..48].copy_from_slice(key.raw());
    let check = Hash::sha256(&buf[..48]);
    buf[48..].copy_from_slice(&check.0[..8]);
    buf
}

fn decode(buf: &[u8]) -> Option<EpochKey> {
    if buf.len() != LEN || &buf[..8] != MAGIC {
        return None;
    }
    if Hash::sha256(&buf[..48]).0[..8] != buf[48..] {
        return None;
    }
    let epoch = u64::from_be_bytes(buf[8..16].try_into().ok()?);
    let mut raw = Zeroizing::new([0u8; 32]);
    raw.copy_from_slice(&buf[16..48]);
    Some(EpochKey::from_bytes(epoch, *raw))
}

fn read_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    match File::open(path) {
        Ok(mut file) => {
            let mut buf = Zeroizing::new(Vec::with_capacity(LEN));
            file.read_to_end(&mut buf)
                .map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
            Ok(Some(buf))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(format!("opening {}", path.display()), e)),
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(format!("syncing directory {}", dir.display()), e))
}

/// Reads the current key, finishing a replacement a crash interrupted.
pub fn load(dir: &Path) -> Result<EpochKey> {
    let path = dir.join(KEY_FILE);
    let next_path = dir.join(NEXT_FILE);
    let current = read_file(&path)?.and_then(|b| decode(&b));
    if let Some(buf) = read_file(&next_path)? {
        match (decode(&buf), &current) {
            (Some(next), Some(cur)) if next.epoch() != cur.epoch() + 1 => {
                return Err(StoreError::Corrupt {
                    path: next_path,
                    reason: format!(
                        "pending key is for epoch {} but the current key is for epoch {}",
                        next.epoch(),
                        cur.epoch()
                    ),
                });
            }
            (Some(next), _) => {
                // The new key was durable before the old one was touched: finish.
                install(dir, &next)?;
                return Ok(next);
            }
            (None, _) => {
                // Torn write of `next`: the old key was never touched.
                fs::remove_file(&next_path)
                    .map_err(|e| StoreError::io(format!("removing {}", next_path.display()), e))?;
                sync_dir(dir)?;
            }
        }
    }
    current.ok_or_else(|| StoreError::Corrupt {
        path,
        reason:
            "the sealing key file is missing or damaged; the store can be verified but not written"
                .into(),
    })
}

/// Durably replaces the current key with `key` and scrubs the old one.
pub fn replace(dir: &Path, key: &EpochKey) -> Result<()> {
    let next_path = dir.join(NEXT_FILE);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&next_path)
        .map_err(|e| StoreError::io(format!("creating {}", next_path.display()), e))?;
    file.write_all(&encode(key)[..])
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(format!("writing {}", next_path.display()), e))?;
    drop(file);
    sync_dir(dir)?;
    install(dir, key)
}

/// Scrubs the old key file in place, then renames `next` over it.
fn install(dir: &Path, key: &EpochKey) -> Result<()> {
    let path = dir.join(KEY_FILE);
    match OpenOptions::new().write(true).open(&path) {
        Ok(mut old) => {
            old.write_all(&[0u8; LEN])
                .and_then(|()| old.sync_data())
                .map_err(|e| StoreError::io(format!("scrubbing {}", path.display()), e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(format!("opening {}", path.display()), e)),
    }
    let next_path = dir.join(NEXT_FILE);
    fs::rename(&next_path, &path)
        .map_err(|e| StoreError::io(format!("installing {}", path.display()), e))?;
    sync_dir(dir)?;
    debug_assert!(load_plain(&path).is_some_and(|k| k.epoch() == key.epoch()));
    Ok(())
}

fn load_plain(path: &Path) -> Option<EpochKey> {
    fs::read(path).ok().and_then(|b| decode(&Zeroizing::new(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_then_load_gives_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = EpochKey::from_bytes(1, [5; 32]);
        replace(dir.path(), &k1).unwrap();
        let k2 = k1.evolve();
        replace(dir.path(), &k2).unwrap();
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.epoch(), 2);
        assert_eq!(loaded.raw(), k2.raw());
        assert!(!dir.path().join(NEXT_FILE).exists());
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    #[test]
    fn a_crash_after_next_was_written_finishes_the_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = EpochKey::from_bytes(1, [5; 32]);
        replace(dir.path(), &k1).unwrap();
        let k2 = k1.evolve();
        fs::write(dir.path().join(NEXT_FILE), &encode(&k2)[..]).unwrap();
        // The old file may already be scrubbed.
        fs::write(dir.path().join(KEY_FILE), [0u8; LEN]).unwrap();
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.epoch(), 2);
        assert_eq!(load(dir.path()).unwrap().epoch(), 2);
    }

    #[test]
    fn a_torn_next_file_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = EpochKey::from_bytes(1, [5; 32]);
        replace(dir.path(), &k1).unwrap();
        fs::write(dir.path().join(NEXT_FILE), &encode(&k1.evolve())[..20]).unwrap();
        assert_eq!(load(dir.path()).unwrap().epoch(), 1);
        assert!(!dir.path().join(NEXT_FILE).exists());
    }

    #[test]
    fn a_damaged_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        replace(dir.path(), &EpochKey::from_bytes(1, [5; 32])).unwrap();
        let mut bytes = fs::read(dir.path().join(KEY_FILE)).unwrap();
        bytes[20] ^= 1;
        fs::write(dir.path().join(KEY_FILE), bytes).unwrap();
        assert!(matches!(load(dir.path()), Err(StoreError::Corrupt { .. })));
    }
}
