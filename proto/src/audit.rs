//! Audit material: logins and denials, verification, the raw chain, posture findings.

use serde::{Deserialize, Serialize};
use vigil_store::{Cut, Head, Seal, StoreId};

/// A stored entry in transit: chain fields and body bytes (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEntry {
    /// Chain fields.
    pub seal: Seal,
    /// Body bytes in hex, unless pruned.
    pub body: Option<String>,
}

/// What a client needs before verifying a streamed chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHeader {
    /// The store.
    pub store_id: StoreId,
    /// The retention cut, if any.
    pub cut: Option<Cut>,
    /// The checkpoint entry describing the cut.
    pub checkpoint: Option<RawEntry>,
    /// The head when the stream started.
    pub head: Head,
    /// Store format: from 2 on, every pruned body is accounted for.
    pub format: u32,
}

/// A verification the daemon ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySummary {
    /// When it finished (UTC micros).
    pub at: i64,
    /// Whether the chain was intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// First bad seq and why, if not ok.
    pub problem: Option<String>,
}

/// One connection or decision in the recent-auth view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRecord {
    /// Seq of the auth event.
    pub seq: u64,
    /// When.
    pub time: i64,
    /// Who (as recorded).
    pub who: String,
    /// Role, if any.
    pub role: Option<String>,
    /// Action.
    pub action: String,
    /// Allowed or denied.
    pub decision: vigil_store::Decision,
    /// Why.
    pub reason: String,
    /// Whether break-glass was used.
    pub break_glass: bool,
    /// How many (for aggregated denials).
    pub count: u64,
}

/// To [`Request::Logins`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginsReport {
    /// Recent connections, newest first.
    pub logins: Vec<LoginRecord>,
    /// Recent denials, newest first.
    pub denials: Vec<LoginRecord>,
    /// Connections ever recorded.
    pub total_logins: u64,
    /// Denials ever recorded (counting aggregated ones).
    pub total_denials: u64,
}

/// How bad a posture finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    /// Fine, for the record.
    Ok,
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed.
    Error,
}

/// One posture check's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Check name.
    pub check: String,
    /// Severity.
    pub severity: FindingSeverity,
    /// What was found.
    pub message: String,
    /// What to do (empty when nothing).
    pub fix: String,
}

/// Turns a store entry into its protocol form.
pub fn raw_entry(entry: &vigil_store::Entry) -> RawEntry {
    RawEntry {
        seal: *entry.seal(),
        body: entry.body().map(hex::encode),
    }
}

/// A [`RawEntry`] whose body is not hex.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("entry {seq}: body is not hex: {reason}")]
pub struct BodyNotHex {
    /// The entry.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: hex::FromHexError,
}

/// Decodes a [`RawEntry`] body.
pub fn raw_body(entry: &RawEntry) -> Result<Option<Vec<u8>>, BodyNotHex> {
    entry
        .body
        .as_deref()
        .map(hex::decode)
        .transpose()
        .map_err(|reason| BodyNotHex {
            seq: entry.seal.seq,
            reason,
        })
}
