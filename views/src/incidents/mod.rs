//! The incident view: alerts grouped by (source, fingerprint).
//!
//! A firing alert opens an incident (or updates the open one); a resolved
//! alert resolves it; firing again reopens the same incident. Status flips
//! within [`FLAP_WINDOW`] are counted, and [`FLAP_TRANSITIONS`] of them mark
//! the incident flapping. Operators ack, resolve and annotate by events.
//! Ids come from the seq of the event that opened the incident, so they are
//! the same after every restart and replay. Times are the entries' times,
//! never the clock, so a replay reproduces the view exactly.
//!
//! A firing alert with an end (Prometheus's `endsAt`, or a source's
//! `resolve_timeout`) expires then unless a fresh copy moves the end: the
//! view indexes those ends ([`IncidentView::expired`]), the daemon appends
//! the resolution as an event from [`LIFETIME_DRIVER`], and the view applies
//! it only if no copy moved the end after the daemon looked.
//!
//! Hundreds of thousands of incidents may be open at once, so an incident
//! is kept small: integer ids, its source shared with every incident of
//! that source, its labels packed ([`LabelSet`]), its history and flips in
//! a few bytes ([`compact`]), and the (source, fingerprint) index holding a
//! hash and an id rather than copies of the strings.

mod compact;
mod id;
mod old;
mod stored;
#[cfg(test)]
mod tests;

pub use compact::{Flips, MaybeTime, Trail};
pub use id::IncidentId;

use crate::View;
use crate::shared::{Hashed, intern};
use crate::slab::Keyed;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault};
use std::ops::Bound;
use std::sync::Arc;
use vigil_store::{
    Actor, Alert, AlertStatus, Event, FileIntegrity, IncidentOp, LabelSet, Seal, Severity,
};

/// Status flips within this window count towards flapping (micros).
pub const FLAP_WINDOW: i64 = 60 * 60 * 1_000_000;
/// This many flips within the window mark an incident flapping.
pub const FLAP_TRANSITIONS: usize = 4;
/// Alert occurrences remembered per incident (their seqs, for `show` and
/// for retention to keep): the newest ones.
pub const HISTORY: usize = 50;
/// Resolved incidents kept in memory before the oldest are forgotten.
const MAX_RESOLVED: usize = 10_000;

/// Where an incident stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Firing, nobody has acknowledged it.
    Open,
    /// Firing, an operator acknowledged it.
    Acked,
    /// Resolved by its source or by an operator.
    Resolved,
}

impl IncidentState {
    /// `open`, `acked` or `resolved`, as listings and templates say it.
    pub fn name(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acked => "acked",
            IncidentState::Resolved => "resolved",
        }
    }
}

/// One note or action by an operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Seq of the action.
    pub seq: u64,
    /// When.
    pub time: i64,
    /// Who (as recorded).
    pub who: String,
    /// `ack`, `resolve`, `note`.
    pub op: IncidentOp,
    /// Their note.
    pub note: Option<String>,
}

/// One incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable id.
    pub id: IncidentId,
    /// Source that sent its alerts (one copy per source, shared).
    #[serde(with = "crate::shared::shared_str")]
    pub source: Arc<str>,
    /// Alert fingerprint.
    pub fingerprint: Box<str>,
    /// State.
    pub state: IncidentState,
    /// Severity of the latest firing alert.
    pub severity: Severity,
    /// Whether it is flapping.
    pub flapping: bool,
    /// Summary of the latest alert.
    pub summary: Box<str>,
    /// Labels of the latest firing alert.
    pub labels: LabelSet,
    /// Opened (entry time, micros).
    pub opened_at: i64,
    /// Last alert or action.
    pub updated_at: i64,
    /// When it was last resolved.
    pub resolved_at: MaybeTime,
    /// When it resolves unless its alert is sent again (micros), while it
    /// is not resolved.
    pub expires_at: MaybeTime,
    /// Firing alerts received (saturating).
    pub fired: u32,
    /// Times it reopened after resolving (saturating).
    pub reopened: u32,
    /// The last status flips (entry times).
    pub flips: Flips<FLAP_TRANSITIONS>,
    /// Seqs of the events that carried its alerts, oldest first, the
    /// newest [`HISTORY`].
    pub history: Trail,
    /// Operator actions (few: boxed, not a growable vector).
    pub annotations: Box<[Annotation]>,
}

/// The source of incidents raised by file integrity monitoring.
pub const FILES_SOURCE: &str = "files";

/// The source of incidents raised by log collection.
pub const LOGS_SOURCE: &str = "logs";

/// The driver of the daemon's own resolutions of alerts whose end passed.
pub const LIFETIME_DRIVER: &str = "lifetime";

/// All incidents.
///
/// Serialized as its incidents and the order resolved ones are forgotten
/// in; the indexes are rebuilt on load (see [`stored`]).
#[derive(Clone, Debug, Default)]
pub struct IncidentView {
    /// By id.
    incidents: Keyed<IncidentId, Incident>,
    /// Hash of (source, fingerprint) → id of its incident.
    by_key: HashMap<u64, IncidentId, BuildHasherDefault<Hashed>>,
    /// Incidents whose (source, fingerprint) hash is another's in `by_key`.
    collided: Vec<IncidentId>,
    /// Keys `by_key` with.
    hasher: RandomState,
    /// Every source, once.
    sources: HashSet<Arc<str>>,
    /// Resolved ids, oldest first, for forgetting.
    resolved_order: VecDeque<IncidentId>,
    /// (end, id) of every incident not resolved whose alert has an end.
    expiries: BTreeSet<(i64, IncidentId)>,
    /// Every incident by its last change, newest first, then by id: a
    /// listing's page is a range, not a pass over every incident.
    recent: BTreeSet<(Reverse<i64>, IncidentId)>,
    /// How many incidents are in each state (by its discriminant).
    counts: [usize; 3],
}

/// The indexes follow from the incidents: views are equal when those are.
impl PartialEq for IncidentView {
    fn eq(&self, other: &IncidentView) -> bool {
        self.incidents == other.incidents && self.resolved_order == other.resolved_order
    }
}

impl View for IncidentView {
    const NAME: &'static str = "incidents";
    // 2: an annotation's `op` is an enum. 3: incidents expire. 4: compact
    // (integer ids, packed labels, no serialized indexes, bounded history).
    const VERSION: u32 = 4;

    /// An incident still open: the event that opened it (its id is that
    /// seq), those that carried its alerts, and the operators' actions.
    fn pins(&self, out: &mut Vec<u64>) {
        for incident in self.incidents.values() {
            if incident.state == IncidentState::Resolved {
                continue;
            }
            out.push(incident.id.seq);
            out.extend(incident.history.iter());
            out.extend(incident.annotations.iter().map(|a| a.seq));
        }
    }

    /// Operators' actions on an incident still remembered (an ack, a
    /// resolve) come after the event that opened it.
    fn holds(&self, out: &mut Vec<(vigil_store::EventKind, u64)>) {
        let oldest = self.incidents.keys().map(|id| id.seq).min();
        out.extend(oldest.map(|seq| (vigil_store::EventKind::Incident, seq)));
    }

    /// Versions 2 and 3 (strings, maps, serialized indexes) read into the
    /// compact shape; version 2 had no ends.
    fn migrate(version: u32, state: &[u8]) -> Option<Self> {
        old::migrate(version, state)
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        match event {
            Some(Event::AlertsIngested(a)) => {
                let expiry = a.driver == LIFETIME_DRIVER && a.actor == Actor::Daemon;
                for (i, alert) in a.alerts.iter().enumerate() {
                    if expiry && !self.expiry_holds(&a.source, alert) {
                        continue;
                    }
                    self.alert(seal, i, &a.source, alert);
                }
            }
            Some(Event::LogMatched(l)) => {
                if let Some(alert) = &l.alert {
                    self.alert(seal, 0, &format!("log:{}", l.file), alert);
                }
            }
            Some(Event::FileIntegrity(FileIntegrity::Records { files, .. })) => {
                let alerts = files.iter().filter_map(|f| f.alert.as_ref());
                for (i, alert) in alerts.enumerate() {
                    self.alert(seal, i, FILES_SOURCE, alert);
                }
            }
            Some(Event::Logs(logs)) => {
                for (i, alert) in logs.alerts().enumerate() {
                    self.alert(seal, i, LOGS_SOURCE, alert);
                }
            }
            Some(Event::IncidentAction(action)) => {
                let Some(id) = IncidentId::parse(&action.incident) else {
                    return;
                };
                let Some(inc) = self.incidents.get_mut(&id) else {
                    return;
                };
                let was = (inc.updated_at, inc.state);
                inc.updated_at = seal.time;
                match action.op {
                    IncidentOp::Ack => {
                        if inc.state == IncidentState::Open {
                            inc.state = IncidentState::Acked;
                        }
                    }
                    IncidentOp::Resolve => {
                        if inc.state != IncidentState::Resolved {
                            inc.state = IncidentState::Resolved;
                            inc.resolved_at = Some(seal.time).into();
                            let expired = inc.expires_at.take();
                            self.resolved_order.push_back(id);
                            if let Some(t) = expired {
                                self.expiries.remove(&(t, id));
                            }
                        }
                    }
                    IncidentOp::Note => {}
                }
                let mut annotations = std::mem::take(&mut inc.annotations).into_vec();
                annotations.push(Annotation {
                    seq: seal.seq,
                    time: seal.time,
                    who: super::describe(&action.actor),
                    op: action.op,
                    note: action.note.clone(),
                });
                inc.annotations = annotations.into_boxed_slice();
                self.moved(id, was);
                self.forget_old();
            }
            _ => {}
        }
    }
}

impl IncidentView {
    /// Every incident, in id order (as text sorts).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Incident> {
        self.incidents.values()
    }

    /// How many incidents are remembered.
    pub fn len(&self) -> usize {
        self.incidents.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
    }

    /// Incidents newest change first, then by id, those after `cursor`
    /// (the update time and id of the last one already listed).
    pub fn newest_first(
        &self,
        cursor: Option<(i64, IncidentId)>,
    ) -> impl Iterator<Item = &Incident> {
        let from = match cursor {
            Some((t, id)) => Bound::Excluded((Reverse(t), id)),
            None => Bound::Unbounded,
        };
        self.recent
            .range((from, Bound::Unbounded))
            .filter_map(|(_, id)| self.incidents.get(id))
    }

    /// How many incidents are in `state` (`None`: all).
    pub fn count(&self, state: Option<IncidentState>) -> usize {
        state.map_or(self.incidents.len(), |s| self.counts[s as usize])
    }

    /// The incident whose id is written `id` (`57`, `57.2`).
    pub fn get(&self, id: &str) -> Option<&Incident> {
        self.incidents.get(&IncidentId::parse(id)?)
    }

    fn alert(&mut self, seal: &Seal, index: usize, source: &str, alert: &Alert) {
        let firing = alert.status == AlertStatus::Firing;
        let Some(id) = self.find(source, &alert.fingerprint) else {
            if firing {
                self.open(seal, index, source, alert);
            } // else: a resolution for something never seen firing
            return;
        };
        let Some(inc) = self.incidents.get_mut(&id) else {
            return;
        };
        let was = (inc.updated_at, inc.state);
        inc.updated_at = seal.time;
        if *inc.summary != *alert.summary {
            inc.summary = alert.summary.as_str().into();
        }
        inc.history.push(seal.seq, HISTORY);
        let was_resolved = inc.state == IncidentState::Resolved;
        // A firing copy sets the end (none: no end); a resolution clears it.
        let end = if firing { alert.ends_at } else { None };
        let old_end = inc.expires_at.replace(end);
        if old_end != end {
            if let Some(t) = old_end {
                self.expiries.remove(&(t, id));
            }
            if let Some(t) = end {
                self.expiries.insert((t, id));
            }
        }
        if firing {
            inc.fired = inc.fired.saturating_add(1);
            inc.severity = alert.severity;
            if !inc.labels.matches(&alert.labels) {
                inc.labels = LabelSet::new(&alert.labels);
            }
            if was_resolved {
                inc.state = IncidentState::Open;
                inc.reopened = inc.reopened.saturating_add(1);
                inc.flapping = inc.flips.flip(seal.time, FLAP_WINDOW);
            }
        } else if !was_resolved {
            inc.state = IncidentState::Resolved;
            inc.resolved_at = Some(seal.time).into();
            inc.flapping = inc.flips.flip(seal.time, FLAP_WINDOW);
            self.resolved_order.push_back(id);
        }
        self.moved(id, was);
        self.forget_old();
    }

    fn open(&mut self, seal: &Seal, index: usize, source: &str, alert: &Alert) {
        let id = IncidentId::new(seal.seq, index);
        let incident = Incident {
            id,
            source: self.source(source),
            fingerprint: alert.fingerprint.as_str().into(),
            state: IncidentState::Open,
            severity: alert.severity,
            flapping: false,
            summary: alert.summary.as_str().into(),
            labels: LabelSet::new(&alert.labels),
            opened_at: seal.time,
            updated_at: seal.time,
            resolved_at: MaybeTime::NONE,
            expires_at: alert.ends_at.into(),
            fired: 1,
            reopened: 0,
            flips: Flips::default(),
            history: Trail::new(seal.seq),
            annotations: Box::default(),
        };
        self.index(&incident);
        self.incidents.insert(id, incident);
    }

    /// The shared copy of `source`.
    fn source(&mut self, source: &str) -> Arc<str> {
        intern(&mut self.sources, source)
    }

    fn key(&self, source: &str, fingerprint: &str) -> u64 {
        self.hasher.hash_one((source, fingerprint))
    }

    /// The incident of (`source`, `fingerprint`).
    fn find(&self, source: &str, fingerprint: &str) -> Option<IncidentId> {
        let is = |id: &IncidentId| {
            self.incidents
                .get(id)
                .is_some_and(|i| *i.source == *source && *i.fingerprint == *fingerprint)
        };
        let id = self.by_key.get(&self.key(source, fingerprint));
        id.filter(|id| is(id))
            .or_else(|| self.collided.iter().find(|id| is(id)))
            .copied()
    }

    /// Adds `incident` to the indexes.
    fn index(&mut self, incident: &Incident) {
        let key = self.key(&incident.source, &incident.fingerprint);
        match self.by_key.entry(key) {
            Entry::Occupied(_) => self.collided.push(incident.id),
            Entry::Vacant(place) => {
                place.insert(incident.id);
            }
        }
        if let Some(t) = incident.expires_at.get() {
            self.expiries.insert((t, incident.id));
        }
        self.recent
            .insert((Reverse(incident.updated_at), incident.id));
        self.counts[incident.state as usize] += 1;
    }

    /// Follows `id`'s change from `was` (its update time and state).
    fn moved(&mut self, id: IncidentId, was: (i64, IncidentState)) {
        let Some(now) = self.incidents.get(&id).map(|i| (i.updated_at, i.state)) else {
            return;
        };
        if now.0 != was.0 {
            self.recent.remove(&(Reverse(was.0), id));
            self.recent.insert((Reverse(now.0), id));
        }
        self.counts[was.1 as usize] -= 1;
        self.counts[now.1 as usize] += 1;
    }

    /// Takes `incident` out of the indexes.
    fn unindex(&mut self, incident: &Incident) {
        let key = self.key(&incident.source, &incident.fingerprint);
        if self.by_key.get(&key) == Some(&incident.id) {
            self.by_key.remove(&key);
        }
        self.collided.retain(|id| *id != incident.id);
        if let Some(t) = incident.expires_at.get() {
            self.expiries.remove(&(t, incident.id));
        }
        self.recent
            .remove(&(Reverse(incident.updated_at), incident.id));
        self.counts[incident.state as usize] -= 1;
    }

    /// Whether an expiry of `alert` (its end as the daemon saw it) still
    /// applies: the incident is not resolved and no copy since moved its
    /// end later (or took it away).
    fn expiry_holds(&self, source: &str, alert: &Alert) -> bool {
        let Some(inc) = self
            .find(source, &alert.fingerprint)
            .and_then(|id| self.incidents.get(&id))
        else {
            return false;
        };
        match (inc.expires_at.get(), alert.ends_at) {
            (Some(current), Some(seen)) => inc.state != IncidentState::Resolved && current <= seen,
            _ => false,
        }
    }

    /// Incidents whose end is at or before `now` (micros) and that are not
    /// resolved, earliest end first.
    pub fn expired(&self, now: i64) -> impl Iterator<Item = &Incident> {
        self.expiries
            .iter()
            .take_while(move |(t, _)| *t <= now)
            .filter_map(|(_, id)| self.incidents.get(id))
    }

    /// The earliest end of an incident not resolved, if any.
    pub fn next_expiry(&self) -> Option<i64> {
        self.expiries.first().map(|(t, _)| *t)
    }

    /// Drops the oldest resolved incidents beyond the bound.
    fn forget_old(&mut self) {
        while self.resolved_order.len() > MAX_RESOLVED {
            let Some(id) = self.resolved_order.pop_front() else {
                break;
            };
            let still_resolved = self
                .incidents
                .get(&id)
                .is_some_and(|i| i.state == IncidentState::Resolved);
            if still_resolved && let Some(inc) = self.incidents.remove(&id) {
                self.unindex(&inc);
            }
        }
    }

    /// The incident a notification about `alerts` (firing first, as intents
    /// hold them) is about: the incident of the first alert that has one.
    ///
    /// Intents do not record an alert's source, so incidents are found by
    /// fingerprint, under every source the view knows (a few: looking each
    /// up beats a pass over every incident per notification); when sources
    /// share a fingerprint, the incident whose state agrees with the
    /// alert's status (a firing alert's is not resolved) wins, then the one
    /// updated last, then the first by id.
    pub fn of_notification(&self, alerts: &[Alert]) -> Option<&Incident> {
        alerts.iter().find_map(|alert| {
            let firing = alert.status == AlertStatus::Firing;
            let rank = |inc: &Incident| {
                let agrees = (inc.state != IncidentState::Resolved) == firing;
                (agrees, inc.updated_at, std::cmp::Reverse(inc.id))
            };
            self.sources
                .iter()
                .filter_map(|source| self.find(source, &alert.fingerprint))
                .filter_map(|id| self.incidents.get(&id))
                .max_by_key(|inc| rank(inc))
        })
    }

    /// The view holding `incidents` and forgetting resolved ones in
    /// `resolved_order`: the indexes built, sources shared.
    fn from_parts(
        incidents: impl IntoIterator<Item = Incident>,
        resolved_order: VecDeque<IncidentId>,
    ) -> IncidentView {
        let mut view = IncidentView {
            resolved_order,
            ..IncidentView::default()
        };
        for mut incident in incidents {
            incident.source = view.source(&incident.source);
            view.index(&incident);
            view.incidents.insert(incident.id, incident);
        }
        view
    }
}
