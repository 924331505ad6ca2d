//! Silences as listed.

use crate::names::named;
use serde::{Deserialize, Serialize};

named! {
    /// Where a silence stands.
    pub enum SilenceState {
        /// It starts later.
        Pending = "pending",
        /// It mutes matching alerts now.
        Active = "active",
        /// It ended (or was expired by hand).
        Expired = "expired",
    }
}

/// One silence, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceListing {
    /// Id (the seq of the event that created it).
    pub id: String,
    /// Where it stands.
    pub state: SilenceState,
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
