//! Deciding what changed: a path's attributes as recorded against the
//! ones on disk, and a deletion and a creation of the same file paired
//! into a rename. Pure: no I/O.

use super::beneath::Meta;
use crate::config::ATTRIBUTES;
use std::collections::HashMap;
use vigil_store::{FileAttrs, FileChangeKind, FileRecord, FileType, Hash};

/// Which attributes count as a change (`attributes` of a `[[collect.files]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Content hash.
    pub sha256: bool,
    /// Size.
    pub size: bool,
    /// Permission bits.
    pub mode: bool,
    /// Owner uid.
    pub uid: bool,
    /// Owner gid.
    pub gid: bool,
    /// Modification time.
    pub mtime: bool,
    /// Inode (a file replaced by another).
    pub inode: bool,
    /// File type.
    pub file_type: bool,
    /// A link's target.
    pub link: bool,
    /// Extended attributes (not checked unless asked: reading them costs
    /// two system calls a file).
    pub xattrs: bool,
}

impl Checked {
    /// Every attribute.
    #[cfg(test)]
    pub const ALL: Checked = Checked {
        sha256: true,
        size: true,
        mode: true,
        uid: true,
        gid: true,
        mtime: true,
        inode: true,
        file_type: true,
        link: true,
        xattrs: true,
    };

    /// From the configured names (each one of [`ATTRIBUTES`], which the
    /// configuration checked at load).
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Checked, String> {
        let mut c = Checked {
            sha256: false,
            size: false,
            mode: false,
            uid: false,
            gid: false,
            mtime: false,
            inode: false,
            file_type: false,
            link: false,
            xattrs: false,
        };
        for name in names {
            let flag = match name {
                "sha256" => &mut c.sha256,
                "size" => &mut c.size,
                "mode" => &mut c.mode,
                "uid" => &mut c.uid,
                "gid" => &mut c.gid,
                "mtime" => &mut c.mtime,
                "inode" => &mut c.inode,
                "type" => &mut c.file_type,
                "link" => &mut c.link,
                "xattrs" => &mut c.xattrs,
                other => {
                    return Err(format!(
                        "unknown attribute `{other}`; expected any of {}",
                        ATTRIBUTES.join(", ")
                    ));
                }
            };
            *flag = true;
        }
        Ok(c)
    }
}

/// The attributes recorded for what `lstat` saw.
pub fn attrs_of(meta: &Meta, sha256: Option<Hash>, link_target: Option<String>) -> FileAttrs {
    FileAttrs {
        file_type: meta.file_type,
        sha256,
        size: meta.size,
        mode: meta.mode,
        uid: meta.uid,
        gid: meta.gid,
        mtime: meta.mtime,
        inode: meta.ino,
        dev: meta.dev,
        link_target,
        xattrs: Vec::new(),
    }
}

/// What changed from `old` to `new`, if anything `checked` counts.
///
/// A directory's size and modification time move whenever an entry comes
/// or goes, which is reported for the entry: they are not its changes.
pub fn change(
    old: Option<&FileAttrs>,
    new: Option<&FileAttrs>,
    checked: &Checked,
) -> Option<FileChangeKind> {
    let (old, new) = match (old, new) {
        (None, None) => return None,
        (None, Some(_)) => return Some(FileChangeKind::Created),
        (Some(_), None) => return Some(FileChangeKind::Deleted),
        (Some(old), Some(new)) => (old, new),
    };
    let dir = new.file_type == FileType::Dir && old.file_type == FileType::Dir;
    let content = (checked.file_type && old.file_type != new.file_type)
        || (checked.sha256 && old.sha256 != new.sha256)
        || (checked.size && !dir && old.size != new.size);
    if content {
        return Some(FileChangeKind::Modified);
    }
    let mode_bits = |a: &FileAttrs| a.mode & 0o7777;
    let metadata = (checked.mode && mode_bits(old) != mode_bits(new))
        || (checked.uid && old.uid != new.uid)
        || (checked.gid && old.gid != new.gid)
        || (checked.link && old.link_target != new.link_target)
        || (checked.inode && (old.inode, old.dev) != (new.inode, new.dev))
        || (checked.mtime && !dir && old.mtime != new.mtime)
        || (checked.xattrs && old.xattrs != new.xattrs);
    metadata.then_some(FileChangeKind::Metadata)
}

/// Pairs each deletion with a creation of the same file (same device,
/// inode, type and content) into one rename, in place of the two. The
/// deletions are indexed by device, inode and content, so a burst of
/// moves costs a lookup each, not a search of every deletion.
pub fn pair_renames(records: Vec<FileRecord>) -> Vec<FileRecord> {
    let (deletions, others): (Vec<FileRecord>, Vec<FileRecord>) = records
        .into_iter()
        .partition(|r| r.change == FileChangeKind::Deleted);
    let mut deleted: Vec<Option<FileRecord>> = deletions.into_iter().map(Some).collect();
    // (dev, inode, content) → the deletions of such a file, in order.
    let mut by_file: HashMap<(u64, u64, Option<Hash>), Vec<usize>> = HashMap::new();
    for (i, d) in deleted.iter().enumerate() {
        if let Some(old) = d.as_ref().and_then(|d| d.old.as_ref()) {
            by_file
                .entry((old.dev, old.inode, old.sha256))
                .or_default()
                .push(i);
        }
    }
    let mut out: Vec<FileRecord> = Vec::with_capacity(others.len() + deleted.len());
    for mut record in others {
        if record.change == FileChangeKind::Created
            && let Some(new) = &record.new
        {
            let candidates = by_file.get_mut(&(new.dev, new.inode, new.sha256));
            let found = candidates.and_then(|c| {
                let at = c.iter().position(|i| {
                    deleted[*i]
                        .as_ref()
                        .and_then(|d| d.old.as_ref())
                        .is_some_and(|old| old.file_type == new.file_type)
                })?;
                Some(c.remove(at))
            });
            if let Some(gone) = found.and_then(|i| deleted[i].take()) {
                record.change = FileChangeKind::Renamed;
                record.from = Some(gone.path);
                record.old = gone.old;
            }
        }
        out.push(record);
    }
    out.extend(deleted.into_iter().flatten());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn attrs(fill: u8) -> FileAttrs {
        FileAttrs {
            file_type: FileType::File,
            sha256: Some(Hash([fill; 32])),
            size: 10,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime: 5,
            inode: u64::from(fill),
            dev: 1,
            link_target: None,
            xattrs: vec![],
        }
    }

    fn record(path: &str, change: FileChangeKind, old: Option<u8>, new: Option<u8>) -> FileRecord {
        FileRecord {
            path: path.into(),
            change,
            from: None,
            old: old.map(attrs),
            new: new.map(attrs),
            while_stopped: false,
            diff: None,
            content: None,
            alert: None,
        }
    }

    #[test]
    fn content_beats_metadata_and_unchecked_attributes_are_ignored() {
        let all = Checked::ALL;
        let a = attrs(1);
        assert_eq!(change(Some(&a), Some(&a), &all), None);
        let mut b = attrs(2);
        assert_eq!(
            change(Some(&a), Some(&b), &all),
            Some(FileChangeKind::Modified)
        );
        b = a.clone();
        b.mode = 0o104755;
        assert_eq!(
            change(Some(&a), Some(&b), &all),
            Some(FileChangeKind::Metadata)
        );
        b = a.clone();
        b.mtime = 6;
        assert_eq!(
            change(Some(&a), Some(&b), &all),
            Some(FileChangeKind::Metadata)
        );
        let no_mtime = Checked::of(["sha256", "mode"]).unwrap();
        assert_eq!(change(Some(&a), Some(&b), &no_mtime), None);
        assert_eq!(change(None, Some(&a), &all), Some(FileChangeKind::Created));
        assert_eq!(change(Some(&a), None, &all), Some(FileChangeKind::Deleted));
        assert!(
            Checked::of(["sha1"])
                .unwrap_err()
                .contains("unknown attribute `sha1`")
        );
    }

    #[test]
    fn a_directory_gaining_an_entry_is_not_its_change() {
        let mut a = attrs(1);
        a.file_type = FileType::Dir;
        a.sha256 = None;
        let mut b = a.clone();
        b.size += 4096;
        b.mtime += 1;
        assert_eq!(change(Some(&a), Some(&b), &Checked::ALL), None);
    }

    #[test]
    fn a_move_is_one_rename_and_a_replaced_file_is_not() {
        let records = vec![
            record("/etc/old", FileChangeKind::Deleted, Some(1), None),
            record("/etc/new", FileChangeKind::Created, None, Some(1)),
            record("/etc/other", FileChangeKind::Created, None, Some(2)),
        ];
        let paired = pair_renames(records);
        assert_eq!(paired.len(), 2);
        assert_eq!(paired[0].change, FileChangeKind::Renamed);
        assert_eq!(paired[0].path, "/etc/new");
        assert_eq!(paired[0].from.as_deref(), Some("/etc/old"));
        assert_eq!(paired[0].old, Some(attrs(1)));
        assert_eq!(paired[1].change, FileChangeKind::Created);
    }

    #[test]
    fn a_burst_of_moves_is_paired_without_comparing_every_pair() {
        // 80 000 moves: pairwise, billions of comparisons.
        let n: u64 = 80_000;
        let file = |i: u64| {
            let mut a = attrs(1);
            a.inode = i;
            a
        };
        let mut records = Vec::new();
        for i in 0..n {
            let mut gone = record(&format!("/w/old{i}"), FileChangeKind::Deleted, None, None);
            gone.old = Some(file(i));
            let mut made = record(&format!("/w/new{i}"), FileChangeKind::Created, None, None);
            made.new = Some(file(n - 1 - i));
            records.push(gone);
            records.push(made);
        }
        let started = std::time::Instant::now();
        let paired = pair_renames(records);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(paired.len(), n as usize);
        assert!(paired.iter().all(|r| r.change == FileChangeKind::Renamed));
        let first = paired.iter().find(|r| r.path == "/w/new0").unwrap();
        assert_eq!(first.from.as_deref(), Some(&*format!("/w/old{}", n - 1)));
    }
}
