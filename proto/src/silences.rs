//! Silences as listed.

use serde::{Deserialize, Serialize};

/// One silence, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceListing {
    /// Id (the seq of the event that created it).
    pub id: String,
    /// `pending`, `active` or `expired`.
    pub state: String,
    /// Matchers, all of which must match.
    pub matchers: Vec<String>,
    /// Start (micros).
    pub starts_at: i64,
    /// End (micros).
    pub ends_at: i64,
    /// Why.
    pub comment: String,
    /// Who created it.
    pub created_by: String,
    /// Who ended it early.
    pub expired_by: Option<String>,
}
