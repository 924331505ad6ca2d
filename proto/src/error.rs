//! Errors a request can end with.

use serde::{Deserialize, Serialize};

/// Machine-readable error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Client and server speak different protocol versions.
    VersionMismatch,
    /// The caller's role does not allow it.
    Forbidden,
    /// The frame was not a valid message.
    Malformed,
    /// The frame was over the size limit.
    FrameTooLarge,
    /// The thing asked for does not exist.
    NotFound,
    /// The request is well-formed but invalid.
    BadRequest,
    /// The daemon cannot serve it now (shutting down, store failed).
    Unavailable,
    /// An unexpected failure.
    Internal,
}

/// An error with a message a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Class.
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl ErrorBody {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
