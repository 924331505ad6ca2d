//! Incidents as listed and shown.

use crate::names::named;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{IncidentOp, Severity};

named! {
    /// Where an incident stands.
    pub enum IncidentState {
        /// Firing, nobody has acknowledged it.
        Open = "open",
        /// Someone is on it.
        Acked = "acked",
        /// Its alerts resolved, or someone resolved it.
        Resolved = "resolved",
    }
}

/// An incident as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Stable id.
    pub id: String,
    /// Where it stands.
    pub state: IncidentState,
    /// Source.
    pub source: String,
    /// Alert fingerprint.
    pub fingerprint: String,
    /// Severity.
    pub severity: Severity,
    /// Summary.
    pub summary: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Opened (UTC micros).
    pub opened_at: i64,
    /// Last change (UTC micros).
    pub updated_at: i64,
    /// Last resolved (UTC micros).
    pub resolved_at: Option<i64>,
    /// Firing alerts received.
    pub fired: u64,
    /// Times it reopened.
    pub reopened: u64,
    /// Whether it is flapping.
    pub flapping: bool,
}

/// An operator action on an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentNote {
    /// Seq of the action.
    pub seq: u64,
    /// When (UTC micros).
    pub time: i64,
    /// Who.
    pub who: String,
    /// What they did.
    pub op: IncidentOp,
    /// Their note.
    pub note: Option<String>,
}
