//! What a store directory holds, and the marker that says it is one.
//!
//! ```text
//! <store>/VIGIL-STORE     marker: format version and store id (text)
//! <store>/seal.key        current epoch key (see key_file)
//! <store>/seal.head       head recorded at each epoch advance and stop (format 2; see head_file)
//! <store>/db/             fjall database: keyspaces `log`, `meta`, `views`
//! ```
//!
//! Format 2 adds `seal.head` and accounts for every pruned body with a
//! sealed `BodiesPruned` entry. A format 1 store is upgraded in place the
//! first time it is opened for writing.

use crate::error::{Result, StoreError};
use crate::key_file::sync_dir;
use crate::seal::StoreId;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Marker file name.
pub const MARKER: &str = "VIGIL-STORE";
/// fjall database directory name.
pub const DB_DIR: &str = "db";
/// Store format written by this build, and the newest it reads.
pub const FORMAT: u32 = 2;
/// Oldest format this build reads (and upgrades when opening for writing).
pub const OLDEST_FORMAT: u32 = 1;

/// Keyspace of entries: seq (u64 BE) → entry value.
pub const LOG_KEYSPACE: &str = "log";
/// Keyspace of store metadata (the retention cut, the key fingerprint).
pub const META_KEYSPACE: &str = "meta";
/// Meta key of the verification key's fingerprint (UTF-8 hex), written at
/// creation; absent in stores created before it was recorded.
pub const FINGERPRINT_KEY: &str = "vk_fingerprint";
/// Keyspace of view snapshots: view name → snapshot.
pub const VIEWS_KEYSPACE: &str = "views";
/// Keyspace of the vault: keyring header, wrapped data keys, sealed secrets.
pub const SECRETS_KEYSPACE: &str = "secrets";

/// Contents of the marker file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// Store format version.
    pub format: u32,
    /// Store identity.
    pub store_id: StoreId,
}

impl Marker {
    fn to_text(self) -> String {
        format!(
            "vigil-store\nformat {}\nid {}\n",
            self.format,
            self.store_id.to_hex()
        )
    }

    fn parse(text: &str) -> Option<Marker> {
        let mut lines = text.lines();
        if lines.next()? != "vigil-store" {
            return None;
        }
        let format = lines.next()?.strip_prefix("format ")?.parse().ok()?;
        let store_id = StoreId::from_hex(lines.next()?.strip_prefix("id ")?)?;
        Some(Marker { format, store_id })
    }
}

/// Reads and checks the marker of the store at `dir` without writing anything.
pub fn read_marker(dir: &Path) -> Result<Marker> {
    if !dir.is_dir() {
        return Err(StoreError::Missing {
            path: dir.to_path_buf(),
        });
    }
    let path = dir.join(MARKER);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::NotAStore {
                path: dir.to_path_buf(),
                marker: MARKER,
            });
        }
        Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
    };
    let marker = Marker::parse(&text).ok_or_else(|| StoreError::Corrupt {
        path: path.clone(),
        reason: "the marker file is not in the expected format".into(),
    })?;
    if marker.format < OLDEST_FORMAT {
        return Err(StoreError::Corrupt {
            path,
            reason: format!(
                "the marker names format {}, which never existed",
                marker.format
            ),
        });
    }
    if marker.format > FORMAT {
        return Err(StoreError::NewerFormat {
            path: dir.to_path_buf(),
            found: marker.format,
            supported: FORMAT,
        });
    }
    if !dir.join(DB_DIR).is_dir() {
        return Err(StoreError::Corrupt {
            path: dir.join(DB_DIR),
            reason: "the database directory is missing".into(),
        });
    }
    Ok(marker)
}

/// Writes the marker durably (the last step of creating a store).
pub(crate) fn write_marker(dir: &Path, marker: Marker) -> Result<()> {
    write_marker_at(&dir.join(MARKER), marker)?;
    sync_dir(dir)
}

fn write_marker_at(path: &Path, marker: Marker) -> Result<()> {
    let path = path.to_path_buf();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| StoreError::io(format!("creating {}", path.display()), e))?;
    file.write_all(marker.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))
}

/// Replaces the marker durably (an upgrade): a crash leaves the old or the new one.
pub(crate) fn rewrite_marker(dir: &Path, marker: Marker) -> Result<()> {
    let next = dir.join(format!("{MARKER}.next"));
    let _ = fs::remove_file(&next);
    write_marker_at(&next, marker)?;
    let path = dir.join(MARKER);
    fs::rename(&next, &path)
        .map_err(|e| StoreError::io(format!("installing {}", path.display()), e))?;
    sync_dir(dir)
}

/// Bytes the store occupies on disk (allocated blocks, all files).
pub fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips() {
        let m = Marker {
            format: 1,
            store_id: StoreId([7; 16]),
        };
        assert_eq!(Marker::parse(&m.to_text()), Some(m));
        assert_eq!(Marker::parse("something else\n"), None);
    }
}
