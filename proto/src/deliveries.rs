//! Notification deliveries as listed.

use crate::names::named;
use serde::{Deserialize, Serialize};
use vigil_store::DeliveryState;

/// Deliveries `vigilctl deliveries list` asks for without `--limit`.
pub const DELIVERIES_DEFAULT_LIMIT: u64 = 100;
named! {
    /// Which deliveries a listing asks for, by state.
    pub enum DeliveryFilter {
        /// Intended, attempting or failed: the outbox still owes an attempt.
        Pending = "pending",
        /// Planned, not attempted yet.
        Intended = "intended",
        /// An attempt is under way.
        Attempting = "attempting",
        /// The receiver accepted it.
        Sent = "sent",
        /// The last attempt failed; it will be retried.
        Failed = "failed",
        /// No more attempts.
        GivenUp = "given_up",
    }
}

named! {
    /// Why a notification was sent.
    pub enum DeliveryCause {
        /// An aggregation group was due.
        Group = "group",
        /// `vigilctl notify test`.
        Test = "test",
        /// Another receiver's delivery was given up.
        Fallback = "fallback",
    }
}

/// One delivery (one notification to one integration of a receiver), as
/// listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryListing {
    /// Id: the idempotency key (a webhook's `webhook-id`).
    pub id: String,
    /// The notification it belongs to.
    pub notification: String,
    /// Seq of the intent entry.
    pub intent_seq: u64,
    /// Receiver.
    pub receiver: String,
    /// Integration (`webhook/0`).
    pub integration: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts started.
    pub attempts: u32,
    /// Alerts it carries.
    pub alerts: u32,
    /// Firing alerts among them.
    pub firing: u32,
    /// Why it was sent.
    pub cause: DeliveryCause,
    /// The delivery this one is the fallback of.
    pub fallback_for: Option<String>,
    /// Intended (UTC micros).
    pub created_at: i64,
    /// Last step recorded (UTC micros).
    pub updated_at: i64,
    /// The last outcome (status, error class); never a body.
    pub detail: String,
}

/// Deliveries counted by outcome, in [`Response::Deliveries`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTotals {
    /// Waiting for an attempt or its outcome (intended, attempting, failed).
    pub pending: u64,
    /// Recorded sent.
    pub sent: u64,
    /// Given up.
    pub given_up: u64,
    /// Failed attempts (each one).
    pub failed_attempts: u64,
    /// Planned.
    pub intended: u64,
}
