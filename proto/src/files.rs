//! File integrity as listed, shown and scanned: the baseline's paths with
//! the attributes last recorded for them, one path's history from the log,
//! and a scan's progress and outcome. The same scan records go into the
//! file-integrity section of the status report.

use serde::{Deserialize, Serialize};
use vigil_store::{FileChangeKind, FileType, Hash, ScanTotals};

/// Records `files show` sends at most; older ones are only counted.
pub const FILE_HISTORY_LIMIT: usize = 100;

/// A path as `files list` lists it: its attributes as last recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileListing {
    /// The path.
    pub path: String,
    /// What it is.
    pub file_type: FileType,
    /// SHA-256 of the content (regular files only; hex on the wire).
    pub sha256: Option<Hash>,
    /// Size in bytes.
    pub size: u64,
    /// Permission and type bits (`st_mode`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time (UTC micros).
    pub mtime: i64,
    /// Where a symbolic link points.
    pub link_target: Option<String>,
    /// Changes recorded for it (its baseline not counted).
    pub changes: u32,
    /// Seq of the entry that last recorded it.
    pub seq: u64,
}

/// A scan under way, as the collector reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningScan {
    /// Its id: the seq of its start.
    pub scan: u64,
    /// Why it runs (`start`, `schedule`, `operator`, ...).
    pub reason: String,
    /// When it started (UTC micros), once its start is in the views.
    pub started_at: Option<i64>,
    /// Paths examined so far.
    pub examined: u64,
    /// Paths it expects to examine (what the baseline holds under its
    /// roots; 0 before the first baseline).
    pub expected: u64,
    /// Bytes hashed so far.
    pub bytes: u64,
}

/// A scan that finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedScan {
    /// Its id: the seq of its start.
    pub scan: u64,
    /// When it finished (UTC micros).
    pub finished_at: i64,
    /// What it found.
    pub totals: ScanTotals,
}

/// The header of a `files list` listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesHeader {
    /// Paths the listing holds (under the path asked for, or all).
    pub count: u64,
    /// Configured paths a finished scan has baselined.
    pub baselined: Vec<String>,
    /// The last scan that finished.
    pub last_scan: Option<FinishedScan>,
    /// The scan under way.
    pub scanning: Option<RunningScan>,
}

/// The attributes of a path a history record shows, before or after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// What it was.
    pub file_type: FileType,
    /// SHA-256 of the content (hex on the wire).
    pub sha256: Option<Hash>,
    /// Size in bytes.
    pub size: u64,
    /// Permission and type bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time (UTC micros).
    pub mtime: i64,
    /// Where a symbolic link pointed.
    pub link_target: Option<String>,
}

/// One record of a path's history, from the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHistory {
    /// Seq of the entry that holds it.
    pub seq: u64,
    /// When it was recorded (UTC micros).
    pub time: i64,
    /// The record's path (another one when the path shown was renamed away).
    pub path: String,
    /// What happened.
    pub change: FileChangeKind,
    /// Found by the scan at start: it happened while vigild was stopped.
    pub while_stopped: bool,
    /// The path it was renamed from.
    pub from: Option<String>,
    /// Attributes before (none for a baseline or a creation).
    pub old: Option<FileState>,
    /// Attributes after (none for a deletion).
    pub new: Option<FileState>,
    /// A unified diff of the text, redacted, when configured.
    pub diff: Option<String>,
}

/// One path as `files show` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDetail {
    /// The path asked for.
    pub path: String,
    /// Its attributes as last recorded (none: deleted, or never seen).
    pub current: Option<FileListing>,
    /// Its records, oldest first, at most [`FILE_HISTORY_LIMIT`] (fewer
    /// when their diffs would not fit one frame).
    pub history: Vec<FileHistory>,
    /// Records older than the first one in `history`, not sent.
    pub older: u64,
}

/// How far a scan `files scan` started has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanProgress {
    /// The scan.
    pub scan: u64,
    /// Paths examined so far.
    pub examined: u64,
    /// Paths it expects to examine (0 before the first baseline).
    pub expected: u64,
    /// Bytes hashed so far.
    pub bytes: u64,
}

/// File integrity in the status report (absent when no
/// `[[collect.files]]` is configured).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesStatus {
    /// Paths in the baseline.
    pub files: u64,
    /// Changes recorded since the store began (baselines not counted).
    pub changes: u64,
    /// Directories watched for live changes.
    pub watched_dirs: u64,
    /// Directories that could not be watched (scanned on schedule instead).
    pub unwatched_dirs: u64,
    /// Times the kernel's change queue overflowed (each caused a rescan).
    pub overflows: u64,
    /// The scan under way.
    pub scanning: Option<RunningScan>,
    /// The last scan that finished.
    pub last_scan: Option<FinishedScan>,
}
