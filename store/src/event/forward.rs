//! The forwarder's acknowledged position: how far this host's chain is
//! held by the fleet's broker.

use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// `System`: the broker acknowledged every entry up to `acked_seq` (throttled:
/// written when the position moved past the previous record, not per entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    /// The JetStream stream.
    pub stream: String,
    /// The subject this host publishes on.
    pub subject: String,
    /// The last seq the broker acknowledged (every one before it too).
    pub acked_seq: u64,
    /// That entry's link, so the position names one chain.
    pub acked_link: Hash,
    /// That entry's time (UTC micros): lag in seconds is measured from it.
    pub acked_time: i64,
}
