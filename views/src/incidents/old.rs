//! The view's shapes at versions 2 and 3, as retention checkpoints may
//! carry them, and their reading into the current one.

use super::{Annotation, Flips, HISTORY, Incident, IncidentId, IncidentState, IncidentView, Trail};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use vigil_store::{LabelSet, Labels, Severity};

/// Version 3: string ids, maps, every index stored.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct V3 {
    pub incidents: BTreeMap<String, V3Incident>,
    // Read past: the indexes are rebuilt from the incidents.
    #[allow(dead_code)]
    pub by_fingerprint: HashMap<(String, String), String>,
    pub resolved_order: VecDeque<String>,
    #[allow(dead_code)]
    pub expiries: BTreeSet<(i64, String)>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct V3Incident {
    pub id: String,
    pub source: String,
    pub fingerprint: String,
    pub state: IncidentState,
    pub severity: Severity,
    pub summary: String,
    pub labels: Labels,
    pub opened_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
    pub fired: u64,
    pub reopened: u64,
    pub flips: VecDeque<i64>,
    pub flapping: bool,
    pub history: VecDeque<u64>,
    pub annotations: Vec<Annotation>,
    pub expires_at: Option<i64>,
}

/// Version 2: version 3 without ends.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct V2 {
    pub incidents: BTreeMap<String, V2Incident>,
    #[allow(dead_code)]
    pub by_fingerprint: HashMap<(String, String), String>,
    pub resolved_order: VecDeque<String>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct V2Incident {
    pub id: String,
    pub source: String,
    pub fingerprint: String,
    pub state: IncidentState,
    pub severity: Severity,
    pub summary: String,
    pub labels: Labels,
    pub opened_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
    pub fired: u64,
    pub reopened: u64,
    pub flips: VecDeque<i64>,
    pub flapping: bool,
    pub history: VecDeque<u64>,
    pub annotations: Vec<Annotation>,
}

impl From<V2Incident> for V3Incident {
    fn from(i: V2Incident) -> V3Incident {
        V3Incident {
            id: i.id,
            source: i.source,
            fingerprint: i.fingerprint,
            state: i.state,
            severity: i.severity,
            summary: i.summary,
            labels: i.labels,
            opened_at: i.opened_at,
            updated_at: i.updated_at,
            resolved_at: i.resolved_at,
            fired: i.fired,
            reopened: i.reopened,
            flips: i.flips,
            flapping: i.flapping,
            history: i.history,
            annotations: i.annotations,
            expires_at: None,
        }
    }
}

/// The incident in the current shape; `None` if its id is not one the
/// view ever wrote. Its history keeps the newest [`HISTORY`] seqs.
fn current(i: V3Incident) -> Option<Incident> {
    let id = IncidentId::parse(&i.id)?;
    Some(Incident {
        id,
        source: i.source.into(),
        fingerprint: i.fingerprint.into(),
        state: i.state,
        severity: i.severity,
        flapping: i.flapping,
        summary: i.summary.into(),
        labels: LabelSet::new(&i.labels),
        opened_at: i.opened_at,
        updated_at: i.updated_at,
        resolved_at: i.resolved_at.into(),
        expires_at: i.expires_at.into(),
        fired: u32::try_from(i.fired).unwrap_or(u32::MAX),
        reopened: u32::try_from(i.reopened).unwrap_or(u32::MAX),
        flips: Flips::from_times(i.flips),
        history: Trail::from_seqs(i.history, HISTORY).unwrap_or_else(|| Trail::new(id.seq)),
        annotations: i.annotations.into_boxed_slice(),
    })
}

/// The view from a version 2 or 3 state.
pub fn migrate(version: u32, state: &[u8]) -> Option<IncidentView> {
    let (incidents, resolved_order): (Vec<V3Incident>, _) = match version {
        2 => {
            let old: V2 = postcard::from_bytes(state).ok()?;
            let incidents = old.incidents.into_values().map(V3Incident::from);
            (incidents.collect(), old.resolved_order)
        }
        3 => {
            let old: V3 = postcard::from_bytes(state).ok()?;
            (old.incidents.into_values().collect(), old.resolved_order)
        }
        _ => return None,
    };
    let resolved_order = resolved_order
        .iter()
        .filter_map(|id| IncidentId::parse(id))
        .collect();
    Some(IncidentView::from_parts(
        incidents.into_iter().filter_map(current),
        resolved_order,
    ))
}
