//! Secrets as listed: names and use, never values.

use serde::{Deserialize, Serialize};

/// One secret in [`Response::Secrets`]: never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretListing {
    /// Name.
    pub name: String,
    /// Data key sealing it.
    pub key_id: u32,
    /// First set (UTC micros).
    pub created: i64,
    /// Last set or re-encrypted (UTC micros).
    pub updated: i64,
    /// Configuration keys that reference it (`secret:NAME`).
    pub used_by: Vec<String>,
}
