//! The recorded head (`seal.head`): where the log ended at its last epoch
//! advance and at its last clean stop.
//!
//! A log with its newest entries deleted is still a valid chain, and the
//! next append would reuse their seqs. The record is the store's own
//! tripwire for that: it lives beside the sealing key, outside the database
//! an attacker (or a botched restore) would edit, and [`Log::open`] refuses a
//! log that ends before it or holds another entry at its seq. It is a
//! tripwire, not proof (whoever can delete entries can delete this file
//! too, which is refused as well); the proof is an external anchor, which
//! the daemon logs at every epoch advance.
//!
//! Text, written to `seal.head.next`, fsynced, renamed over `seal.head`:
//!
//! ```text
//! vigil-head
//! seq 4012
//! epoch 17
//! link 5607e385ae50f959ee4bdc3603676d6f15ef9a94534f34e83cad6c9223fd7948
//! ```
//!
//! [`Log::open`]: crate::Log::open

use crate::chain::Head;
use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::key_file::sync_dir;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// File name of the recorded head inside the store directory.
pub const HEAD_FILE: &str = "seal.head";
const NEXT_FILE: &str = "seal.head.next";

/// A head as recorded: seq, epoch and link (time is not needed to compare).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedHead {
    /// Seq of the newest entry then.
    pub seq: u64,
    /// Its epoch.
    pub epoch: u64,
    /// Its link.
    pub link: Hash,
}

impl From<&Head> for RecordedHead {
    fn from(h: &Head) -> Self {
        RecordedHead {
            seq: h.seq,
            epoch: h.epoch,
            link: h.link,
        }
    }
}

fn to_text(h: &RecordedHead) -> String {
    format!(
        "vigil-head\nseq {}\nepoch {}\nlink {}\n",
        h.seq, h.epoch, h.link
    )
}

fn parse(text: &str) -> Option<RecordedHead> {
    let mut lines = text.lines();
    if lines.next()? != "vigil-head" {
        return None;
    }
    let seq = lines.next()?.strip_prefix("seq ")?.parse().ok()?;
    let epoch = lines.next()?.strip_prefix("epoch ")?.parse().ok()?;
    let link = Hash::from_hex(lines.next()?.strip_prefix("link ")?)?;
    lines
        .next()
        .is_none()
        .then_some(RecordedHead { seq, epoch, link })
}

/// Reads the recorded head; `Ok(None)` when the file does not exist.
pub fn read(dir: &Path) -> Result<Option<RecordedHead>> {
    let path = dir.join(HEAD_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
    };
    parse(&text).map(Some).ok_or_else(|| StoreError::Corrupt {
        path,
        reason: "the recorded head is not in the expected format".into(),
    })
}

/// Durably records `head` (a crash leaves the old record or the new one).
pub fn write(dir: &Path, head: &RecordedHead) -> Result<()> {
    let next = dir.join(NEXT_FILE);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&next)
        .map_err(|e| StoreError::io(format!("creating {}", next.display()), e))?;
    file.write_all(to_text(head).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(format!("writing {}", next.display()), e))?;
    drop(file);
    let path = dir.join(HEAD_FILE);
    fs::rename(&next, &path)
        .map_err(|e| StoreError::io(format!("installing {}", path.display()), e))?;
    sync_dir(dir)
}

/// How the log found on open differs from the recorded head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TailMismatch {
    /// The record, if there was one.
    pub recorded: Option<RecordedHead>,
    /// What an operator reads.
    pub detail: String,
}

/// Compares the log (its `head`, and `link_at(seq)` for a retained seq)
/// with the record. A missing record is a mismatch only when `required`
/// (format 2 writes one at creation).
pub(crate) fn check(
    recorded: Option<RecordedHead>,
    required: bool,
    head: &Head,
    first_retained: u64,
    link_at: impl FnOnce(u64) -> Result<Option<Hash>>,
) -> Result<Option<TailMismatch>> {
    let Some(r) = recorded else {
        return Ok(required.then(|| TailMismatch {
            recorded: None,
            detail: format!(
                "its record of the head ({HEAD_FILE}) is missing; the log ends at seq {} (epoch {})",
                head.seq, head.epoch
            ),
        }));
    };
    if r.seq > head.seq {
        return Ok(Some(TailMismatch {
            recorded: Some(r),
            detail: format!(
                "it recorded its head at seq {} (epoch {}), but the log now ends at seq {} (epoch {})",
                r.seq, r.epoch, head.seq, head.epoch
            ),
        }));
    }
    if r.seq >= first_retained
        && let Some(found) = link_at(r.seq)?
        && found != r.link
    {
        return Ok(Some(TailMismatch {
            recorded: Some(r),
            detail: format!(
                "it recorded its head at seq {} (epoch {}, link {}), but the entry there now has link {}: \
                 the tail was replaced; the log ends at seq {} (epoch {})",
                r.seq, r.epoch, r.link, found, head.seq, head.epoch
            ),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let h = RecordedHead {
            seq: 40,
            epoch: 3,
            link: Hash([7; 32]),
        };
        write(dir.path(), &h).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(h));
        assert!(!dir.path().join(NEXT_FILE).exists());
        fs::write(dir.path().join(HEAD_FILE), "vigil-head\nseq x\n").unwrap();
        assert!(matches!(read(dir.path()), Err(StoreError::Corrupt { .. })));
    }

    fn head(seq: u64, link: u8) -> Head {
        Head {
            seq,
            time: 0,
            epoch: 2,
            link: Hash([link; 32]),
        }
    }

    #[test]
    fn a_log_behind_or_beside_its_record_is_a_mismatch() {
        let rec = Some(RecordedHead::from(&head(40, 7)));
        let same = |_| Ok(Some(Hash([7; 32])));
        // At or past the record, with the recorded entry in place: fine.
        assert_eq!(check(rec, true, &head(40, 7), 1, same).unwrap(), None);
        assert_eq!(check(rec, true, &head(55, 9), 1, same).unwrap(), None);
        // Behind it.
        let behind = check(rec, true, &head(35, 3), 1, same).unwrap().unwrap();
        assert!(behind.detail.contains("seq 40") && behind.detail.contains("seq 35"));
        // Past it, but another entry at the recorded seq.
        let other = |_| Ok(Some(Hash([8; 32])));
        let replaced = check(rec, true, &head(50, 9), 1, other).unwrap().unwrap();
        assert!(replaced.detail.contains("replaced"), "{}", replaced.detail);
        // Behind a retention cut the recorded entry cannot be compared.
        assert_eq!(check(rec, true, &head(50, 9), 41, other).unwrap(), None);
        // No record: a mismatch only where one is required.
        assert!(check(None, true, &head(5, 1), 1, same).unwrap().is_some());
        assert_eq!(check(None, false, &head(5, 1), 1, same).unwrap(), None);
    }
}
