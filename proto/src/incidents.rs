//! Incidents as listed and shown.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::Severity;

/// An incident as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Stable id.
    pub id: String,
    /// `open`, `acked`, `resolved`.
    pub state: String,
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
    /// `ack`, `resolve`, `note`.
    pub op: String,
    /// Their note.
    pub note: Option<String>,
}
