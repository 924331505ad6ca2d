//! The daemon's status report.

use crate::audit::VerifySummary;
use crate::files::FilesStatus;
use crate::handshake::Identity;
use crate::logs::LogsStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{Head, StoreId, WriterStats};

/// To [`Request::Status`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Daemon version.
    pub version: String,
    /// Daemon pid.
    pub pid: u32,
    /// When it started (UTC micros).
    pub started_at: i64,
    /// Seconds since.
    pub uptime_secs: u64,
    /// Whether it runs in development mode.
    pub dev: bool,
    /// State directory.
    pub state_dir: String,
    /// Control socket.
    pub socket: String,
    /// Store identity.
    pub store_id: StoreId,
    /// Newest entry.
    pub head: Head,
    /// Oldest retained seq.
    pub first_seq: u64,
    /// Events by kind (from the status view).
    pub counts: BTreeMap<String, u64>,
    /// Seconds between epoch advances.
    pub epoch_interval_secs: u64,
    /// Entries replayed at start (the rest came from view snapshots).
    pub replayed_at_start: u64,
    /// Seq the view snapshots were taken at, if any were used.
    pub snapshot_as_of: Option<u64>,
    /// Writer counters since start.
    pub writer: WriterStats,
    /// Last verification the daemon ran.
    pub last_verify: Option<VerifySummary>,
    /// The caller.
    pub you: Identity,
    /// File integrity monitoring (none when no `[[collect.files]]` is
    /// configured).
    pub files: Option<FilesStatus>,
    /// Log collection (none when no `[[collect.logs]]` or
    /// `[[collect.journal]]` is configured and nothing was followed).
    pub logs: Option<LogsStatus>,
    /// Forwarding to the fleet (none when `[forward]` is not configured).
    #[serde(default)]
    pub forward: Option<ForwardStatus>,
}

/// To `forward status`: where this host's chain stands on the fleet's broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardStatus {
    /// The servers.
    pub servers: String,
    /// The stream.
    pub stream: String,
    /// This host's subject.
    pub subject: String,
    /// Connected now.
    pub connected: bool,
    /// Every entry up to this seq is held by the broker (0: none known).
    pub acked_seq: u64,
    /// The local head.
    pub head_seq: u64,
    /// Entries not acknowledged yet.
    pub lag_entries: u64,
    /// Age of the oldest entry not acknowledged yet (0 when none).
    pub lag_secs: f64,
    /// The acknowledged position last recorded in the log.
    pub recorded_seq: u64,
    /// The last error, if any, and when (UTC micros).
    pub last_error: Option<(i64, String)>,
    /// Since when forwarding has failed (UTC micros).
    pub failing_since: Option<i64>,
    /// Why forwarding stopped (the local log is behind or differs from
    /// the fleet's copy).
    pub halted: Option<String>,
}
