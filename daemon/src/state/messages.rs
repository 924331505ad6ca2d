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
