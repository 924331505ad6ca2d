//! Payloads of file integrity monitoring ([`Event::FileIntegrity`](super::Event)).
//!
//! The baseline of every watched file is not kept anywhere but in these
//! events: a scan records each file it has not seen before
//! ([`FileChangeKind::Baseline`]) and each difference from what was recorded
//! ([`FileChangeKind::Modified`], ...), so the baseline is a view of the log
//! and a restart compares the disk with it. Frozen once shipped, like every
//! payload.

use super::payload::Alert;
use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// What kind of file a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (recorded, never followed).
    Symlink,
    /// A device, fifo or socket.
    Other,
}

impl FileType {
    /// As `vigilctl` prints it.
    pub fn name(self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Symlink => "symlink",
            FileType::Other => "other",
        }
    }
}

/// The attributes of one path, as file integrity monitoring records them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAttrs {
    /// What it is.
    pub file_type: FileType,
    /// SHA-256 of the content (regular files only).
    pub sha256: Option<Hash>,
    /// Size in bytes.
    pub size: u64,
    /// Permission and type bits (`st_mode`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time, UTC microseconds.
    pub mtime: i64,
    /// Inode number.
    pub inode: u64,
    /// Device number.
    pub dev: u64,
    /// Where a symbolic link points (never followed).
    pub link_target: Option<String>,
    /// Extended attributes, by name, as SHA-256 of their values (only when
    /// configured).
    pub xattrs: Vec<(String, Hash)>,
}

/// What happened to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    /// Seen for the first time by a scan of a root not baselined yet: no
    /// alert.
    Baseline,
    /// Appeared.
    Created,
    /// Content or type changed (old and new hash).
    Modified,
    /// Disappeared.
    Deleted,
    /// Mode, owner, link target or extended attributes changed, content not.
    Metadata,
    /// Moved from [`FileRecord::from`] (the same inode, the same content).
    Renamed,
}

impl FileChangeKind {
    /// As the log, the rules and `vigilctl` spell it.
    pub fn name(self) -> &'static str {
        match self {
            FileChangeKind::Baseline => "baseline",
            FileChangeKind::Created => "created",
            FileChangeKind::Modified => "modified",
            FileChangeKind::Deleted => "deleted",
            FileChangeKind::Metadata => "metadata",
            FileChangeKind::Renamed => "renamed",
        }
    }
}

/// One path's record: its baseline, or one change to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The path (absolute, under an allowed root).
    pub path: String,
    /// What happened.
    pub change: FileChangeKind,
    /// The path it was renamed from.
    pub from: Option<String>,
    /// Attributes before (absent for a baseline or a creation).
    pub old: Option<FileAttrs>,
    /// Attributes after (absent for a deletion).
    pub new: Option<FileAttrs>,
    /// Found by the scan at start: it happened while vigild was stopped.
    pub while_stopped: bool,
    /// A unified diff of the text (`report_changes`), redacted.
    pub diff: Option<String>,
    /// The text itself, redacted, kept so the next change can be diffed
    /// (`report_changes` files only).
    pub content: Option<String>,
    /// The alert a rule made of it, if any.
    pub alert: Option<Alert>,
}

/// Why a scan ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanReason {
    /// vigild started: the disk is compared with the recorded baseline.
    Start,
    /// The configuration changed the watched paths.
    Reload,
    /// The scheduled full scan (`scan_interval`).
    Schedule,
    /// An operator asked (`vigilctl files scan`).
    Operator,
    /// The kernel dropped change notifications (inotify queue overflow).
    Overflow,
    /// A directory could not be watched, so it is scanned instead.
    WatchFailed {
        /// The directory.
        path: String,
        /// Why, as the kernel said.
        error: String,
    },
}

impl ScanReason {
    /// As `vigilctl` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            ScanReason::Start => "start",
            ScanReason::Reload => "reload",
            ScanReason::Schedule => "schedule",
            ScanReason::Operator => "operator",
            ScanReason::Overflow => "overflow",
            ScanReason::WatchFailed { .. } => "watch_failed",
        }
    }
}

/// What a finished scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanTotals {
    /// Paths examined.
    pub files: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Changes recorded (baselines not counted).
    pub changes: u64,
    /// Paths recorded as baseline.
    pub baselined: u64,
    /// Paths that could not be read (a few of them in `unreadable`).
    pub errors: u64,
    /// Some of the paths that could not be read, with why.
    pub unreadable: Vec<(String, String)>,
    /// Roots that held more than their `max_files`: the rest was not
    /// examined.
    pub over_limit: Vec<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// `FileIntegrity`: what file integrity monitoring recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileIntegrity {
    /// A scan of `roots` began; its id is this entry's seq.
    ScanStarted {
        /// Why.
        reason: ScanReason,
        /// The configured paths it covers.
        roots: Vec<String>,
    },
    /// Paths recorded: a part of a scan, or changes seen live.
    Records {
        /// The scan they belong to (its start's seq), if any.
        scan: Option<u64>,
        /// The records.
        files: Vec<FileRecord>,
    },
    /// A scan ended; its roots are baselined from now on.
    ScanFinished {
        /// Its start's seq.
        scan: u64,
        /// The configured paths it covered.
        roots: Vec<String>,
        /// What it found.
        totals: ScanTotals,
    },
}
