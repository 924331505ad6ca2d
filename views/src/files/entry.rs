//! One path's baseline, kept small: a host watches hundreds of thousands
//! of paths, and the daemon holds all of them.
//!
//! The attributes every path has are stored inline; what few paths have
//! (a link target, extended attributes, text kept for `report_changes`)
//! sits behind one optional box. About 100 bytes a path, against 168 for
//! the event's own `FileAttrs` with the text beside it.

use serde::{Deserialize, Serialize};
use vigil_store::{FileAttrs, FileType, Hash};

/// What is recorded for one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    sha256: Option<Hash>,
    file_type: FileType,
    mode: u32,
    uid: u32,
    gid: u32,
    changes: u32,
    size: u64,
    mtime: i64,
    inode: u64,
    dev: u64,
    seq: u64,
    rare: Option<Box<Rare>>,
}

/// What most paths lack.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Rare {
    link_target: Option<String>,
    xattrs: Vec<(String, Hash)>,
    content: Option<String>,
}

impl BaselineEntry {
    /// `attrs` (and `content`, the redacted text of a `report_changes`
    /// file) as recorded by the entry `seq`, the path's `changes`th change.
    pub fn new(attrs: &FileAttrs, content: Option<String>, seq: u64, changes: u32) -> Self {
        let rare = (attrs.link_target.is_some() || !attrs.xattrs.is_empty() || content.is_some())
            .then(|| {
                Box::new(Rare {
                    link_target: attrs.link_target.clone(),
                    xattrs: attrs.xattrs.clone(),
                    content,
                })
            });
        BaselineEntry {
            sha256: attrs.sha256,
            file_type: attrs.file_type,
            mode: attrs.mode,
            uid: attrs.uid,
            gid: attrs.gid,
            changes,
            size: attrs.size,
            mtime: attrs.mtime,
            inode: attrs.inode,
            dev: attrs.dev,
            seq,
            rare,
        }
    }

    /// Its attributes as last recorded.
    pub fn attrs(&self) -> FileAttrs {
        let rare = self.rare.as_deref();
        FileAttrs {
            file_type: self.file_type,
            sha256: self.sha256,
            size: self.size,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            mtime: self.mtime,
            inode: self.inode,
            dev: self.dev,
            link_target: rare.and_then(|r| r.link_target.clone()),
            xattrs: rare.map(|r| r.xattrs.clone()).unwrap_or_default(),
        }
    }

    /// Its text, redacted, for `report_changes` files.
    pub fn content(&self) -> Option<&str> {
        self.rare.as_deref()?.content.as_deref()
    }

    /// The seq of the entry that last recorded it.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Changes recorded for it (a baseline not counted).
    pub fn changes(&self) -> u32 {
        self.changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> FileAttrs {
        FileAttrs {
            file_type: FileType::File,
            sha256: Some(Hash([3; 32])),
            size: 4096,
            mode: 0o100644,
            uid: 1,
            gid: 2,
            mtime: 1_700_000_000_000_000,
            inode: 77,
            dev: 2049,
            link_target: None,
            xattrs: vec![],
        }
    }

    #[test]
    fn attributes_come_back_as_recorded() {
        let plain = BaselineEntry::new(&attrs(), None, 9, 2);
        assert_eq!(plain.attrs(), attrs());
        assert_eq!(
            (plain.seq(), plain.changes(), plain.content()),
            (9, 2, None)
        );
        assert!(plain.rare.is_none(), "nothing boxed for a plain file");

        let mut unusual = attrs();
        unusual.file_type = FileType::Symlink;
        unusual.link_target = Some("/etc/elsewhere".into());
        unusual.xattrs = vec![("security.selinux".into(), Hash([5; 32]))];
        let entry = BaselineEntry::new(&unusual, Some("text".into()), 10, 0);
        assert_eq!(entry.attrs(), unusual);
        assert_eq!(entry.content(), Some("text"));
    }

    #[test]
    fn an_entry_stays_small() {
        assert!(
            std::mem::size_of::<BaselineEntry>() <= 112,
            "{} bytes",
            std::mem::size_of::<BaselineEntry>()
        );
    }
}
