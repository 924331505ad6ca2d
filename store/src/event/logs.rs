//! Payloads of log collection ([`Event::Logs`](super::Event)).
//!
//! A followed file's (or the journal's) position is not kept anywhere but
//! in these events: every [`LogLines`] carries the position just past its
//! lines, in the same entry as what those lines produced, so one durable
//! append commits both and a crash at any moment neither loses nor
//! repeats a line. Frozen once shipped, like every payload.

use super::payload::Alert;
use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// Log collection: lines read, or a change to what is followed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogEvent {
    /// Lines read from one followed file or journal, and where reading
    /// stopped.
    Lines(LogLines),
    /// A followed file was opened, rotated, truncated, removed, or refused.
    Source(LogSourceChange),
}

/// Lines of one followed source, and its position after them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLines {
    /// The `[[collect.logs]]` or `[[collect.journal]]` entry's name.
    pub set: String,
    /// The file's path (`journal` for the journal).
    pub path: String,
    /// When the lines were read, UTC microseconds: the clock thresholds
    /// count with, so a replay counts exactly as the collector did.
    pub at: i64,
    /// Where the next read starts.
    pub position: LogPosition,
    /// Lines read since the previous position (stored or not).
    pub read: u64,
    /// Bytes read since the previous position.
    pub bytes: u64,
    /// The lines kept: those a rule matched, or every one (`store = "all"`).
    pub lines: Vec<LogLine>,
}

/// Where reading a source resumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogPosition {
    /// A byte offset in one file, with what identifies the file.
    File(FilePosition),
    /// A systemd journal cursor (`__CURSOR`).
    Journal {
        /// The cursor of the last entry read.
        cursor: String,
    },
}

/// A byte offset in one file, and what it must still hold for the offset
/// to mean the same thing.
///
/// A file is the same file when its device and inode are the ones
/// recorded and its first bytes hash to `head` (inode numbers are reused);
/// the offset is still good when the `tail_len` bytes before it hash to
/// `tail` (a file truncated and written again past the old offset fails
/// this, where a size check would not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub inode: u64,
    /// Bytes read: the next read starts here.
    pub offset: u64,
    /// SHA-256 of the first `head_len` bytes.
    pub head: Hash,
    /// How many bytes `head` covers (at most the offset).
    pub head_len: u32,
    /// SHA-256 of the `tail_len` bytes just before the offset.
    pub tail: Hash,
    /// How many bytes `tail` covers.
    pub tail_len: u32,
}

/// One line kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Where it starts in the file (0 in the journal).
    pub offset: u64,
    /// The journal entry's cursor (files: none).
    pub cursor: Option<String>,
    /// The line without its newline, redacted; cut at `max_line_bytes`.
    pub text: String,
    /// Whether it was longer than `max_line_bytes` (the rest was skipped).
    pub truncated: bool,
    /// The rules it matched.
    pub matches: Vec<LogRuleMatch>,
}

/// A rule that matched a line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRuleMatch {
    /// The rule's name.
    pub rule: String,
    /// The threshold it counted towards, if it has one.
    pub threshold: Option<ThresholdCount>,
    /// The alert it raised (none below a threshold, while cooling down, or
    /// for a rule that only records).
    pub alert: Option<Alert>,
}

/// One match counted towards a threshold, with the threshold as it was,
/// so the count replays the same whatever the configuration is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdCount {
    /// The group: the `same` captures' values.
    pub key: String,
    /// Matches that make an alert.
    pub count: u32,
    /// The window, microseconds.
    pub within: i64,
    /// Quiet after an alert, microseconds.
    pub cooldown: i64,
}

/// What happened to a followed source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogSourceChange {
    /// The entry's name.
    pub set: String,
    /// The file's path (`journal` for the journal).
    pub path: String,
    /// What happened.
    pub change: LogChangeKind,
    /// Where reading resumes now (none while it cannot be read).
    pub position: Option<LogPosition>,
    /// Why, for a person (an error's text; never a line's).
    pub detail: String,
}

/// What happened to a followed source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogChangeKind {
    /// Followed for the first time: from its end (a file already there at
    /// the first start) or its beginning (one that appeared later).
    Started,
    /// Renamed away and replaced: the old file was read to its end first.
    Rotated,
    /// Cut shorter, or rewritten, under the same name and inode: read
    /// again from its beginning.
    Truncated,
    /// Removed (reading resumes when it comes back).
    Gone,
    /// Cannot be followed: outside the allowed roots, a link, unreadable.
    Refused,
    /// Back to normal after `Refused` or `Gone`.
    Resumed,
}

impl LogChangeKind {
    /// As `vigilctl` prints it.
    pub fn name(self) -> &'static str {
        match self {
            LogChangeKind::Started => "started",
            LogChangeKind::Rotated => "rotated",
            LogChangeKind::Truncated => "truncated",
            LogChangeKind::Gone => "gone",
            LogChangeKind::Refused => "refused",
            LogChangeKind::Resumed => "resumed",
        }
    }
}

impl LogEvent {
    /// The set and path it is about.
    pub fn source(&self) -> (&str, &str) {
        match self {
            LogEvent::Lines(l) => (&l.set, &l.path),
            LogEvent::Source(s) => (&s.set, &s.path),
        }
    }

    /// The alerts it raises.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        let lines = match self {
            LogEvent::Lines(l) => l.lines.as_slice(),
            LogEvent::Source(_) => &[],
        };
        lines
            .iter()
            .flat_map(|l| &l.matches)
            .filter_map(|m| m.alert.as_ref())
    }
}
