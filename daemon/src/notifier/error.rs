//! What can go wrong in the notifier, as messages that say what happened.

use tokio::task::JoinError;
use vigil_store::StoreError;

/// Why the notifier could not start (it tries again every few seconds).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The log, a snapshot or the views could not be read.
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    /// The blocking read did not finish.
    #[error("a read of the store did not finish: {0}")]
    Task(#[from] JoinError),
}

/// Why a recorded notification intent could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    /// Retention removed it (or its body).
    #[error("the intent (seq {0}) is no longer in the log (retention removed it)")]
    Gone(u64),
    /// The store failed.
    #[error("cannot read the intent (seq {seq}): {source}")]
    Read {
        /// The intent's seq.
        seq: u64,
        /// Why.
        source: StoreError,
    },
    /// The blocking read did not finish.
    #[error("cannot read the intent (seq {seq}): {source}")]
    Task {
        /// The intent's seq.
        seq: u64,
        /// Why.
        source: JoinError,
    },
}

impl IntentError {
    /// Whether reading it again may work: a failing store or read may
    /// recover (as a failing append is retried), an intent retention
    /// removed does not come back.
    pub fn retryable(&self) -> bool {
        !matches!(self, IntentError::Gone(_))
    }
}
