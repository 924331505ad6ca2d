//! The file integrity baseline: every watched path and the attributes last
//! recorded for it, rebuilt from the log's `FileIntegrity` events. The
//! daemon compares the disk with this view, at start (changes made while
//! it was stopped) and on every change it is told of.

mod baseline;
mod entry;
mod v2;

pub use baseline::Baseline;
pub use entry::BaselineEntry;

use crate::View;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use vigil_store::{Event, FileChangeKind, FileIntegrity, FileRecord, ScanTotals, Seal};

/// A scan that started and has not finished (or never will: vigild was
/// stopped during it, and the next start's scan takes over).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanUnderway {
    /// Its start's seq: the scan's id.
    pub scan: u64,
    /// Why it ran (`start`, `schedule`, ...).
    pub reason: String,
    /// When it started, UTC micros.
    pub started_at: i64,
    /// Paths recorded by it so far.
    pub recorded: u64,
}

/// A finished scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanDone {
    /// Its start's seq.
    pub scan: u64,
    /// When it finished, UTC micros.
    pub finished_at: i64,
    /// What it found.
    pub totals: ScanTotals,
}

/// Every watched path's baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesView {
    /// Path → what was last recorded.
    pub files: Baseline,
    /// Configured paths a scan has finished: a path found under one of
    /// them that is not in `files` was created, not merely not yet seen.
    pub baselined: BTreeSet<String>,
    /// The seq of the scan end that last baselined each of them.
    pub baselined_at: BTreeMap<String, u64>,
    /// The scan under way.
    pub scanning: Option<ScanUnderway>,
    /// The last scan of watched paths that finished (a rescan of a
    /// directory that could not be watched is not one).
    pub last_scan: Option<ScanDone>,
    /// Changes recorded since the store began (baselines not counted).
    pub changes: u64,
}

impl View for FilesView {
    const NAME: &'static str = "files";
    // 2: the seq that baselined each configured path. 3: compact entries.
    const VERSION: u32 = 3;

    /// Version 2 held each path's full `FileAttrs`.
    fn migrate(version: u32, state: &[u8]) -> Option<Self> {
        (version == 2).then(|| v2::migrate(state))?
    }

    /// The baseline: each path's last record, the scan ends that made
    /// paths baselined, and the start of a scan under way.
    fn pins(&self, out: &mut Vec<u64>) {
        out.extend(self.files.values().map(BaselineEntry::seq));
        out.extend(self.baselined_at.values().copied());
        out.extend(self.scanning.as_ref().map(|s| s.scan));
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        let Some(Event::FileIntegrity(event)) = event else {
            return;
        };
        match event {
            FileIntegrity::ScanStarted { reason, .. } => {
                self.scanning = Some(ScanUnderway {
                    scan: seal.seq,
                    reason: reason.name().into(),
                    started_at: seal.time,
                    recorded: 0,
                });
            }
            FileIntegrity::Records { scan, files } => {
                for record in files {
                    self.record(seal.seq, record);
                }
                if let Some(underway) = &mut self.scanning
                    && Some(underway.scan) == *scan
                {
                    underway.recorded += files.len() as u64;
                }
            }
            FileIntegrity::ScanFinished {
                scan,
                roots,
                totals,
            } => {
                self.baselined.extend(roots.iter().cloned());
                for root in roots {
                    self.baselined_at.insert(root.clone(), seal.seq);
                }
                // A scan recorded most paths at once: pack them now rather
                // than hold the last of them in the tree in front.
                self.files.compact();
                let underway = self.scanning.take_if(|s| s.scan == *scan);
                // The rescan of a directory that could not be watched is
                // not the last scan of the watched paths: it says nothing
                // of the rest.
                if underway.is_none_or(|s| s.reason != "watch_failed") {
                    self.last_scan = Some(ScanDone {
                        scan: *scan,
                        finished_at: seal.time,
                        totals: totals.clone(),
                    });
                }
            }
        }
    }
}

impl FilesView {
    fn record(&mut self, seq: u64, record: &FileRecord) {
        if record.change != FileChangeKind::Baseline {
            self.changes += 1;
        }
        if let Some(from) = &record.from {
            self.files.remove(from);
        }
        let Some(attrs) = &record.new else {
            self.files.remove(&record.path);
            return;
        };
        let changes = self.files.get(&record.path).map_or(0, |e| e.changes())
            + u32::from(record.change != FileChangeKind::Baseline);
        let entry = BaselineEntry::new(attrs, record.content.clone(), seq, changes);
        self.files.insert(&record.path, entry);
    }

    /// Whether a scan has finished over `path`: it or a directory above
    /// it is a baselined configured path. A path newly configured inside
    /// a baselined one (added on reload) is baselined already: what
    /// appears there before its own first scan finishes is created, not
    /// merely not yet seen.
    pub fn is_baselined(&self, path: &str) -> bool {
        if self.baselined.contains(path) {
            return true;
        }
        path.char_indices()
            .filter(|(_, c)| *c == '/')
            .map(|(i, _)| if i == 0 { "/" } else { &path[..i] })
            .any(|above| above != path && self.baselined.contains(above))
    }

    /// `path` and every recorded path below it.
    pub fn under<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = (Cow<'a, str>, &'a BaselineEntry)> + 'a {
        let dir = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        let itself = self.files.get_key_value(path).filter(|_| path != dir);
        let below = self
            .files
            .range_from(Bound::Included(dir.as_str()))
            .take_while(move |(p, _)| p.starts_with(dir.as_str()));
        itself.into_iter().chain(below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_seal;
    use vigil_store::{FileAttrs, FileType, Hash, ScanReason};

    fn attrs(fill: u8) -> FileAttrs {
        FileAttrs {
            file_type: FileType::File,
            sha256: Some(Hash([fill; 32])),
            size: u64::from(fill),
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime: 0,
            inode: u64::from(fill),
            dev: 1,
            link_target: None,
            xattrs: vec![],
        }
    }

    fn record(path: &str, change: FileChangeKind, new: Option<u8>) -> FileRecord {
        FileRecord {
            path: path.into(),
            change,
            from: None,
            old: None,
            new: new.map(attrs),
            while_stopped: false,
            diff: None,
            content: None,
            alert: None,
        }
    }

    fn records(scan: Option<u64>, files: Vec<FileRecord>) -> Event {
        Event::FileIntegrity(FileIntegrity::Records { scan, files })
    }

    #[test]
    fn a_finished_scan_baselines_its_roots_and_changes_update_the_paths() {
        let mut view = FilesView::default();
        view.apply(
            &test_seal(1, 10),
            Some(&Event::FileIntegrity(FileIntegrity::ScanStarted {
                reason: ScanReason::Start,
                roots: vec!["/etc".into()],
            })),
        );
        view.apply(
            &test_seal(2, 11),
            Some(&records(
                Some(1),
                vec![
                    record("/etc/a", FileChangeKind::Baseline, Some(1)),
                    record("/etc/b", FileChangeKind::Baseline, Some(2)),
                ],
            )),
        );
        assert_eq!(view.scanning.as_ref().map(|s| s.recorded), Some(2));
        assert!(view.baselined.is_empty(), "not finished: not baselined");
        view.apply(
            &test_seal(3, 12),
            Some(&Event::FileIntegrity(FileIntegrity::ScanFinished {
                scan: 1,
                roots: vec!["/etc".into()],
                totals: ScanTotals::default(),
            })),
        );
        assert!(view.scanning.is_none());
        assert!(view.baselined.contains("/etc"));
        assert_eq!(view.changes, 0, "a baseline is no change");

        let mut renamed = record("/etc/c", FileChangeKind::Renamed, Some(2));
        renamed.from = Some("/etc/b".into());
        view.apply(
            &test_seal(4, 13),
            Some(&records(
                None,
                vec![
                    record("/etc/a", FileChangeKind::Modified, Some(3)),
                    renamed,
                    record("/etc/d", FileChangeKind::Created, Some(4)),
                ],
            )),
        );
        view.apply(
            &test_seal(5, 14),
            Some(&records(
                None,
                vec![record("/etc/d", FileChangeKind::Deleted, None)],
            )),
        );
        let paths: Vec<Cow<str>> = view.files.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["/etc/a", "/etc/c"]);
        assert_eq!(view.files["/etc/a"].attrs(), attrs(3));
        assert_eq!(view.files["/etc/a"].changes(), 1);
        assert_eq!(view.files["/etc/a"].seq(), 4);
        assert_eq!(view.changes, 4);
    }

    #[test]
    fn the_rescan_of_an_unwatched_directory_is_not_the_last_scan() {
        let mut view = FilesView::default();
        let finished = |scan| {
            Event::FileIntegrity(FileIntegrity::ScanFinished {
                scan,
                roots: vec![],
                totals: ScanTotals::default(),
            })
        };
        let started = |reason| {
            Event::FileIntegrity(FileIntegrity::ScanStarted {
                reason,
                roots: vec!["/etc".into()],
            })
        };
        view.apply(&test_seal(1, 0), Some(&started(ScanReason::Start)));
        view.apply(&test_seal(2, 0), Some(&finished(1)));
        let failed = ScanReason::WatchFailed {
            path: "/etc/x".into(),
            error: "no space left on device".into(),
        };
        view.apply(&test_seal(3, 0), Some(&started(failed)));
        view.apply(&test_seal(4, 0), Some(&finished(3)));
        assert!(view.scanning.is_none());
        assert_eq!(view.last_scan.as_ref().map(|s| s.scan), Some(1));
    }

    #[test]
    fn a_path_below_a_baselined_one_is_baselined() {
        let mut view = FilesView::default();
        view.baselined.insert("/etc".into());
        assert!(view.is_baselined("/etc"));
        assert!(view.is_baselined("/etc/app"), "nested, added on reload");
        assert!(view.is_baselined("/etc/app/deeper"));
        assert!(!view.is_baselined("/etcx"), "by component");
        assert!(!view.is_baselined("/"));
        assert!(!view.is_baselined("/srv"));
        view.baselined.insert("/".into());
        assert!(view.is_baselined("/srv/a"));
    }

    #[test]
    fn under_lists_a_path_and_what_is_below_it_only() {
        let mut view = FilesView::default();
        view.apply(
            &test_seal(1, 0),
            Some(&records(
                None,
                [
                    "/etc",
                    "/etc/a",
                    "/etc/a/x",
                    "/etc/ab",
                    "/etc/a.d/y",
                    "/etcx",
                ]
                .into_iter()
                .map(|p| record(p, FileChangeKind::Baseline, Some(1)))
                .collect(),
            )),
        );
        let under = |p| view.under(p).map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(under("/etc/a"), ["/etc/a", "/etc/a/x"]);
        assert_eq!(
            under("/etc"),
            ["/etc", "/etc/a", "/etc/a.d/y", "/etc/a/x", "/etc/ab"]
        );
        assert_eq!(under("/").len(), 6);
        assert_eq!(under("/etc/"), under("/etc")[1..]);
    }
}
