//! The messages tasks send each other: a leaf, so that the shared state
//! can carry their channels without importing the tasks that serve them.

use tokio::sync::oneshot;
use vigil_store::{Actor, Event};

/// A request to re-read the configuration file.
pub struct ReloadRequest {
    /// What asked: `sighup`, `file-changed`, `control`.
    pub trigger: &'static str,
    /// Where to say what happened (applied, or why not).
    pub reply: Option<oneshot::Sender<Result<String, String>>>,
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
