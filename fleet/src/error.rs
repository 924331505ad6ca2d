//! What can go wrong on the way to or from the broker.

/// A fleet operation that failed. Messages name the server, stream or
/// subject and what to check; never a credential.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The settings cannot be used (a CA file, a client certificate).
    #[error("{0}")]
    Config(String),
    /// No server could be reached, or it refused the login.
    #[error("cannot connect to NATS at {servers}: {reason}")]
    Connect {
        /// The servers tried.
        servers: String,
        /// Why (the server's words when it gave any).
        reason: String,
    },
    /// The stream could not be found, created or read.
    #[error("stream {stream}: {reason}")]
    Stream {
        /// The stream.
        stream: String,
        /// Why.
        reason: String,
    },
    /// A publication was not acknowledged.
    #[error("publishing entry {seq} on {subject}: {reason}")]
    Publish {
        /// The entry.
        seq: u64,
        /// The subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The subject carries another store's chain.
    #[error(
        "subject {subject} already carries the chain of store {other}; give this host its own subject ([forward] host or subject)"
    )]
    SubjectTaken {
        /// The subject.
        subject: String,
        /// The store whose records are on it.
        other: String,
    },
    /// A record on the stream could not be read.
    #[error("stream {stream}, message {sequence}: {reason}")]
    Record {
        /// The stream.
        stream: String,
        /// The message's stream sequence.
        sequence: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Entries the forwarder was to send are gone from the local log.
    #[error("entries from {from} were truncated before they were forwarded")]
    Truncated {
        /// The first one missing.
        from: u64,
    },
    /// The local store could not be read.
    #[error(transparent)]
    Store(#[from] vigil_store::StoreError),
}
