//! Typed errors for everything the store can refuse or fail at.

use std::path::PathBuf;

/// Errors returned by the store.
///
/// Messages are meant for operators: they say what is wrong and, where there
/// is one, what to do about it. None of them ever contains key material.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory exists but holds no Vigil store.
    #[error(
        "{path} is not a Vigil store (no {marker} file); pick the right --state-dir or create a store there"
    )]
    NotAStore {
        /// The directory that was opened.
        path: PathBuf,
        /// Name of the marker file that was looked for.
        marker: &'static str,
    },
    /// Nothing exists at the path.
    #[error("no Vigil store at {path}: the directory does not exist")]
    Missing {
        /// The path that was opened.
        path: PathBuf,
    },
    /// The store was written by a newer Vigil.
    #[error(
        "store at {path} has format version {found}, this build reads up to {supported}; upgrade Vigil to open it"
    )]
    NewerFormat {
        /// The store directory.
        path: PathBuf,
        /// Format found on disk.
        found: u32,
        /// Newest format this build understands.
        supported: u32,
    },
    /// Another process (normally a running vigild) holds the store.
    #[error(
        "store at {path} is in use by another process (is vigild running?); stop it or ask the daemon instead"
    )]
    Locked {
        /// The store directory.
        path: PathBuf,
    },
    /// Refused to create a store where something already exists.
    #[error("refusing to create a store at {path}: {reason}")]
    AlreadyExists {
        /// The path that was in the way.
        path: PathBuf,
        /// What was found there.
        reason: String,
    },
    /// Something on disk is not in the shape the store wrote it.
    #[error("store at {path} is damaged: {reason}")]
    Corrupt {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The log ends before the head the store recorded, or holds another
    /// entry at its seq: its newest entries were removed or replaced.
    #[error(
        "store at {path} was truncated: {detail}. Entries may have been deleted, or an older copy restored; nothing was written. \
         Compare with the chain anchors vigild logged (journalctl -t vigild | grep 'chain anchor'); to go on with the shorter log, \
         start once with --accept-truncation, which records the loss in the log"
    )]
    Truncated {
        /// The store directory.
        path: PathBuf,
        /// Both heads, or what is missing.
        detail: String,
    },
    /// A verification key file could not be used.
    #[error("verification key {path}: {reason}")]
    BadVerificationKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A caller asked for something the log cannot do.
    #[error("{0}")]
    InvalidRequest(String),
    /// An event body could not be decoded.
    #[error("cannot decode event body: {0}")]
    Decode(String),
    /// The single writer stopped after a fatal error; nothing more is acknowledged.
    #[error(
        "the log writer has stopped after a fatal error ({0}); restart the daemon, which recovers everything that was acknowledged"
    )]
    WriterFailed(String),
    /// The log was closed.
    #[error("the log is closed")]
    Closed,
    /// An error from the storage engine.
    #[error("storage engine: {0}")]
    Engine(String),
    /// An entry of an export's range went away while the export was written.
    #[error(
        "entry {seq} is gone: retention truncated it while the export was being written; export again from a later seq"
    )]
    ExportGap {
        /// The missing seq.
        seq: u64,
    },
    /// An I/O error on a file the store owns.
    // The OS error is in the message and deliberately not a `source`:
    // printing the chain (`{:#}`) would say it twice.
    #[error("{context}: {cause}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The underlying error.
        cause: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            cause: source,
        }
    }

    pub(crate) fn engine(err: fjall::Error) -> Self {
        match err {
            // fjall's Display is its Debug; make the common fatal case readable.
            fjall::Error::Poisoned => StoreError::Engine(
                "the database is poisoned after a failed flush or fsync (disk or filesystem failure)".into(),
            ),
            other => StoreError::Engine(format!("{other:?}")),
        }
    }
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
