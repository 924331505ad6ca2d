//! Log collection as listed and tested: each followed file or journal
//! with where reading stands (and each configured one never read yet),
//! what the configured rules make of lines a caller sends (`logs test`,
//! like fail2ban-regex), and the log section of the status report.

use crate::names::named;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{LogChangeKind, Severity};

/// Longest line `logs test` takes, in bytes: the collector's default
/// `max_line_bytes`, where it cuts a line too.
pub const LOG_TEST_LINE_MAX: usize = 64 << 10;
/// Most lines one `logs test` request carries; a file is sent in
/// batches of at most this many (and of at most a frame's bytes).
pub const LOG_TEST_BATCH_LINES: usize = 4096;
/// Matches (and exclusions) per rule one answer shows; the rest are
/// only counted.
pub const LOG_TEST_SAMPLES: usize = 5;

named! {
    /// Where a followed source stands.
    pub enum LogSourceState {
        /// Read, and nothing stands in the way.
        Following = "following",
        /// It cannot be read now (gone, refused): see its error.
        Failing = "failing",
        /// Configured, but nothing was recorded for it yet (just
        /// configured, or a glob that matches no file).
        NotRead = "not_read",
        /// Recorded, but no configured set covers it any more.
        Unconfigured = "unconfigured",
    }
}

/// Where reading a source resumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogPlace {
    /// A byte offset in one file, known by its device and inode.
    File {
        /// Device number.
        dev: u64,
        /// Inode number.
        inode: u64,
        /// Bytes read: the next read starts here.
        offset: u64,
    },
    /// A systemd journal cursor.
    Journal {
        /// The cursor of the last entry read.
        cursor: String,
    },
}

/// The last change recorded for a source: what, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChange {
    /// What happened (started, rotated, truncated, gone, refused, resumed).
    pub kind: LogChangeKind,
    /// When it was recorded (UTC micros).
    pub at: i64,
}

/// A source as `logs list` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogListing {
    /// The `[[collect.logs]]` or `[[collect.journal]]` entry's name.
    pub set: String,
    /// The file's path (a set's glob when no file matched it yet;
    /// `journal` for the journal).
    pub path: String,
    /// Where it stands.
    pub state: LogSourceState,
    /// Where reading resumes (none before anything was read).
    pub position: Option<LogPlace>,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines a rule matched.
    pub matched: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Lines cut at `max_line_bytes` (of those kept).
    pub truncated: u64,
    /// When lines were last read (UTC micros).
    pub last_read: Option<i64>,
    /// The last change recorded.
    pub last_change: Option<LogChange>,
    /// Why it cannot be read now.
    pub error: Option<String>,
}

/// The header of a `logs list` listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsHeader {
    /// Configured sets (`[[collect.logs]]` and `[[collect.journal]]`;
    /// the one asked for, or all).
    pub sets: u64,
    /// Sources the listing holds.
    pub sources: u64,
    /// Of them, those that cannot be read now.
    pub failing: u64,
    /// Of them, those configured and never read.
    pub not_read: u64,
}

/// A rule's threshold, as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogThreshold {
    /// Matches that make an alert.
    pub count: u32,
    /// The window they must fall in (micros).
    pub within: i64,
    /// Captures whose values make a group.
    pub same: Vec<String>,
    /// Quiet after an alert (micros).
    pub cooldown: i64,
}

/// What a rule made of one line, redacted as it would be stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTestMatch {
    /// The line's number in the request (from 1).
    pub line: u64,
    /// The named captures that took part.
    pub captures: BTreeMap<String, String>,
    /// The alert's summary, rendered.
    pub summary: String,
    /// The rule's labels, rendered.
    pub labels: BTreeMap<String, String>,
}

/// A line a rule's pattern matched but its `programs` filter left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTestExclusion {
    /// The line's number in the request (from 1).
    pub line: u64,
    /// The program the line names (the syslog tag), if it names one.
    pub program: Option<String>,
}

/// One rule tried on the lines of a `logs test` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRuleTested {
    /// Its name.
    pub rule: String,
    /// The severity of its alerts (the set's default applied).
    pub severity: Severity,
    /// Whether it alerts (`false`: it only records).
    pub alert: bool,
    /// Its threshold, if any.
    pub threshold: Option<LogThreshold>,
    /// The programs whose lines it applies to (empty: any).
    pub programs: Vec<String>,
    /// Lines it matched.
    pub matched: u64,
    /// Lines its pattern matched that its `programs` filter left out.
    pub excluded: u64,
    /// The first matches, at most [`LOG_TEST_SAMPLES`].
    pub matches: Vec<LogTestMatch>,
    /// The first exclusions, at most [`LOG_TEST_SAMPLES`].
    pub exclusions: Vec<LogTestExclusion>,
    /// Matches not shown to keep the answer within a frame.
    pub omitted: u64,
}

/// What the configured rules make of the lines of a `logs test` request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTestReport {
    /// Lines tested.
    pub lines: u64,
    /// Lines at least one rule matched.
    pub matched: u64,
    /// With a JSON set: the field of each line the rules see.
    pub json_field: Option<String>,
    /// Every rule tried, in the order tried.
    pub rules: Vec<LogRuleTested>,
}

/// Log collection in the status report (absent when no
/// `[[collect.logs]]` or `[[collect.journal]]` is configured and
/// nothing was ever followed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsStatus {
    /// Configured sets.
    pub sets: u64,
    /// Files of configured sets read from.
    pub files: u64,
    /// Journals of configured sets read from.
    pub journals: u64,
    /// Sources of configured sets that cannot be read now.
    pub failing: u64,
}
