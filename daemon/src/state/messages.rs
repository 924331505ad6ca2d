//! The messages tasks send each other: a leaf, so that the shared state
//! can carry their channels without importing the tasks that serve them.

use tokio::sync::oneshot;
use vigil_store::{Actor, Event};

/// A request to re-read the configuration file.
pub struct ReloadRequest {
    /// What asked: `sighup`, `file-changed`, `control`.
    pub trigger: &'static str,
    /// Where to say what happened: applied (with notes on what waits for
    /// a restart), or why not.
    pub reply: Option<oneshot::Sender<Result<String, ReloadError>>>,
}

/// Why a reload did not apply; the running configuration stays in force.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Development mode: the configuration is the embedded one.
    #[error("vigild runs on its embedded development configuration: there is no file to reload")]
    NoFile,
    /// The task reading the file failed.
    #[error("reload failed: {0}")]
    Task(tokio::task::JoinError),
    /// The file does not load: it says where and what to fix.
    #[error("{0}; the running configuration is unchanged")]
    Refused(crate::config::ConfigError),
}

/// A request to the notifier from the control socket.
pub enum Command {
    /// `vigilctl notify test RECEIVER`.
    Test {
        /// Receiver name.
        receiver: String,
        /// Who asked.
        actor: Actor,
        /// The audit record allowing it, appended with the intent.
        allowed: Box<Event>,
        /// The notification id and its deliveries, or why not.
        reply: oneshot::Sender<Result<(String, Vec<String>), TestRefusal>>,
    },
    /// Alertmanager's `GET /api/v2/alerts` and `/alerts/groups`: the
    /// aggregation groups as they stand, once the notifier has read the
    /// log up to now.
    Held {
        /// The groups, or why there are none to show.
        reply: oneshot::Sender<Held>,
    },
}

/// What the notifier holds.
#[derive(Clone, Debug)]
pub enum Held {
    /// The groups.
    Groups(Vec<HeldGroup>),
    /// No `[notify.route]`: nothing is grouped.
    NoRoute,
    /// The silences cannot be read now, so what is muted is unknown.
    Unavailable,
}

/// One aggregation group, as the Alertmanager API lists it.
#[derive(Clone, Debug)]
pub struct HeldGroup {
    /// The receiver its route notifies.
    pub receiver: String,
    /// The labels its alerts share.
    pub labels: vigil_store::Labels,
    /// Its firing alerts whose end has not passed.
    pub alerts: Vec<HeldAlert>,
}

/// A firing alert and what holds it back.
#[derive(Clone, Debug)]
pub struct HeldAlert {
    /// The alert.
    pub alert: vigil_store::Alert,
    /// The silences and alerts that mute it now.
    pub suppression: vigil_notify::route::Suppression,
}

/// A request to the file integrity collector from the control socket.
pub enum FilesCommand {
    /// `vigilctl files scan`: a full scan of every watched path now.
    Scan {
        /// The scan's id (its start's seq) once its start is recorded, or
        /// why it did not start.
        reply: oneshot::Sender<Result<u64, FilesRefusal>>,
    },
}

/// Why the collector did not start a scan.
#[derive(Debug, thiserror::Error)]
pub enum FilesRefusal {
    /// No `[[collect.files]]` is configured (or the collector has stopped).
    #[error("file integrity monitoring is not configured: add a [[collect.files]] table")]
    NotConfigured,
    /// The scan's start could not be recorded (the store's error, in words).
    #[error("cannot record the scan: {0}")]
    Store(String),
}

/// What the collector is doing, published for `status` and `files scan`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// The scan under way (its start's seq), if any.
    pub scan: Option<u64>,
    /// Why it runs (`start`, `schedule`, `operator`, ...).
    pub reason: String,
    /// Paths examined so far.
    pub examined: u64,
    /// Paths the baseline holds under the scanned roots: what the scan
    /// expects to examine (0 before the first baseline).
    pub expected: u64,
    /// Bytes hashed so far.
    pub bytes: u64,
    /// The last scan that finished (its id), for a waiter to notice.
    pub finished: Option<u64>,
    /// Directories watched for live changes.
    pub watched_dirs: u64,
    /// Directories that could not be watched (scanned on schedule instead).
    pub unwatched_dirs: u64,
    /// Times the kernel's change queue overflowed (each caused a rescan).
    pub overflows: u64,
    /// Why the log refused the collector's last append, while it still
    /// does (cleared by the next scan that finishes).
    pub store_error: Option<String>,
}

/// Why a test notification was not queued.
#[derive(Debug, thiserror::Error)]
pub enum TestRefusal {
    /// No such receiver.
    #[error("no receiver `{receiver}`; configured: {known}")]
    NoReceiver {
        /// The name asked for.
        receiver: String,
        /// The configured names, comma-separated (or `none`).
        known: String,
    },
    /// The receiver has no integration to send to.
    #[error("receiver `{0}` has no integration")]
    NoIntegration(String),
    /// The channels could not be built from the configuration.
    #[error(
        "notifications are unavailable: the channels could not be built (see the daemon's log)"
    )]
    Unavailable,
    /// The intent could not be recorded.
    #[error("cannot record the test notification: {0}")]
    Store(vigil_store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_reload_says_the_running_configuration_stays() {
        assert_eq!(
            ReloadError::NoFile.to_string(),
            "vigild runs on its embedded development configuration: there is no file to reload"
        );
        let refused = ReloadError::Refused(crate::config::ConfigError {
            path: "/etc/vigil/vigil.toml".into(),
            line: 3,
            column: 1,
            message: "unknown field `x`".into(),
        });
        assert_eq!(
            refused.to_string(),
            "/etc/vigil/vigil.toml:3:1: unknown field `x`; the running configuration is unchanged"
        );
    }
}
