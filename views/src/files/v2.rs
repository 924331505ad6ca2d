//! The files view as version 2 stored it (snapshots, retention
//! checkpoints): each path's full `FileAttrs` and text beside it.

use super::{BaselineEntry, FilesView, ScanDone, ScanUnderway};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use vigil_store::FileAttrs;

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct View {
    files: BTreeMap<String, Entry>,
    baselined: BTreeSet<String>,
    baselined_at: BTreeMap<String, u64>,
    scanning: Option<ScanUnderway>,
    last_scan: Option<ScanDone>,
    changes: u64,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct Entry {
    attrs: FileAttrs,
    content: Option<String>,
    seq: u64,
    changes: u32,
}

/// A version 2 state as today's view; `None` if it does not decode.
pub(super) fn migrate(state: &[u8]) -> Option<FilesView> {
    let old: View = postcard::from_bytes(state).ok()?;
    Some(FilesView {
        files: old
            .files
            .into_iter()
            .map(|(path, e)| {
                let entry = BaselineEntry::new(&e.attrs, e.content, e.seq, e.changes);
                (path.into_boxed_str(), entry)
            })
            .collect(),
        baselined: old.baselined,
        baselined_at: old.baselined_at,
        scanning: old.scanning,
        last_scan: old.last_scan,
        changes: old.changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::FileType;

    #[test]
    fn a_version_2_state_reads_as_the_same_baseline() {
        let attrs = FileAttrs {
            file_type: FileType::Symlink,
            sha256: None,
            size: 11,
            mode: 0o120777,
            uid: 0,
            gid: 0,
            mtime: 5,
            inode: 9,
            dev: 1,
            link_target: Some("/etc/target".into()),
            xattrs: vec![],
        };
        let old = View {
            files: [(
                "/etc/link".to_string(),
                Entry {
                    attrs: attrs.clone(),
                    content: Some("kept".into()),
                    seq: 42,
                    changes: 3,
                },
            )]
            .into(),
            baselined: ["/etc".to_string()].into(),
            baselined_at: [("/etc".to_string(), 40)].into(),
            scanning: None,
            last_scan: Some(ScanDone {
                scan: 39,
                finished_at: 7,
                totals: Default::default(),
            }),
            changes: 12,
        };
        let bytes = postcard::to_allocvec(&old).unwrap();
        let view = <FilesView as crate::View>::migrate(2, &bytes).unwrap();
        let entry = &view.files["/etc/link"];
        assert_eq!(entry.attrs(), attrs);
        assert_eq!(
            (entry.content(), entry.seq(), entry.changes()),
            (Some("kept"), 42, 3)
        );
        assert!(view.is_baselined("/etc/link"));
        assert_eq!(view.baselined_at["/etc"], 40);
        assert_eq!(view.changes, 12);
        assert_eq!(view.last_scan.map(|s| s.scan), Some(39));
        assert!(<FilesView as crate::View>::migrate(1, &bytes).is_none());
    }
}
