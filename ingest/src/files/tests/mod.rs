//! Tests of file integrity rules, globs and diffs.

mod alert;
mod defaults;
mod diff;
mod glob;
mod rules;

use vigil_store::{FileAttrs, FileChangeKind, FileRecord, FileType, Hash, Labels, Severity};

use super::AlertContext;

/// A regular file with `mode`'s permission bits, owned by root.
fn file(mode: u32, content: &[u8]) -> FileAttrs {
    FileAttrs {
        file_type: FileType::File,
        sha256: Some(Hash::sha256(content)),
        size: content.len() as u64,
        mode: 0o100000 | mode,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000_000_000,
        inode: 42,
        dev: 1,
        link_target: None,
        xattrs: Vec::new(),
    }
}

/// A record of `change` to `path`, with no diff and found live.
fn record(
    path: &str,
    change: FileChangeKind,
    old: Option<FileAttrs>,
    new: Option<FileAttrs>,
) -> FileRecord {
    FileRecord {
        path: path.to_owned(),
        change,
        from: None,
        old,
        new,
        while_stopped: false,
        diff: None,
        content: None,
        alert: None,
    }
}

/// `path`'s content changed from `a` to `b`, mode 0644.
fn modified(path: &str) -> FileRecord {
    record(
        path,
        FileChangeKind::Modified,
        Some(file(0o644, b"a")),
        Some(file(0o644, b"b")),
    )
}

/// The context of a watched set `etc` on host `web1`, severity warning,
/// labelled `team=ops`.
fn ctx(labels: &Labels) -> AlertContext<'_> {
    AlertContext {
        set: "etc",
        severity: Severity::Warning,
        labels,
        host: "web1",
    }
}

/// `team=ops`.
fn team_ops() -> Labels {
    Labels::from([("team".to_owned(), "ops".to_owned())])
}
