//! API keys as listed: never the key or its digest.

use serde::{Deserialize, Serialize};

/// An API key as listed: never the key, never its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyListing {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// Sources it may post to (empty: all).
    pub sources: Vec<String>,
    /// What it may do (`ingest`, `alerts.read`, `silences.write`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Created (UTC micros).
    pub created: i64,
    /// Who created it.
    pub created_by: String,
    /// Expiry (UTC micros).
    pub expires_at: Option<i64>,
    /// Revoked (UTC micros).
    pub revoked_at: Option<i64>,
    /// Last accepted delivery (UTC micros).
    pub last_used: Option<i64>,
}
