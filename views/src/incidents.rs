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

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use vigil_store::{
    Actor, Alert, AlertStatus, Event, FileIntegrity, IncidentOp, Labels, Seal, Severity,
};

/// Status flips within this window count towards flapping (micros).
pub const FLAP_WINDOW: i64 = 60 * 60 * 1_000_000;
/// This many flips within the window mark an incident flapping.
pub const FLAP_TRANSITIONS: usize = 4;
/// Alert occurrences remembered per incident (their seqs, for `show`).
const HISTORY: usize = 200;
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
    pub id: String,
    /// Source that sent its alerts.
    pub source: String,
    /// Alert fingerprint.
    pub fingerprint: String,
    /// State.
    pub state: IncidentState,
    /// Severity of the latest firing alert.
    pub severity: Severity,
    /// Summary of the latest alert.
    pub summary: String,
    /// Labels of the latest alert.
    pub labels: Labels,
    /// Opened (entry time, micros).
    pub opened_at: i64,
    /// Last alert or action.
    pub updated_at: i64,
    /// When it was last resolved.
    pub resolved_at: Option<i64>,
    /// Firing alerts received.
    pub fired: u64,
    /// Times it reopened after resolving.
    pub reopened: u64,
    /// Status flips within the flap window (entry times).
    pub flips: VecDeque<i64>,
    /// Whether it is flapping.
    pub flapping: bool,
    /// Seqs of the events that carried its alerts, oldest first (bounded).
    pub history: VecDeque<u64>,
    /// Operator actions.
    pub annotations: Vec<Annotation>,
    /// When it resolves unless its alert is sent again (micros), while it
    /// is not resolved.
    pub expires_at: Option<i64>,
}

/// The source of incidents raised by file integrity monitoring.
pub const FILES_SOURCE: &str = "files";

/// The source of incidents raised by log collection.
pub const LOGS_SOURCE: &str = "logs";

/// The driver of the daemon's own resolutions of alerts whose end passed.
pub const LIFETIME_DRIVER: &str = "lifetime";

/// All incidents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    /// By id.
    pub incidents: BTreeMap<String, Incident>,
    /// (source, fingerprint) → id of its incident.
    by_fingerprint: HashMap<(String, String), String>,
    /// Resolved ids, oldest first, for forgetting.
    resolved_order: VecDeque<String>,
    /// (end, id) of every incident not resolved whose alert has an end.
    expiries: BTreeSet<(i64, String)>,
}

impl View for IncidentView {
    const NAME: &'static str = "incidents";
    // 2: an annotation's `op` is an enum. 3: incidents expire.
    const VERSION: u32 = 3;

    /// An incident still open: the event that opened it (its id is that
    /// seq), those that carried its alerts, and the operators' actions.
    fn pins(&self, out: &mut Vec<u64>) {
        for incident in self.incidents.values() {
            if incident.state == IncidentState::Resolved {
                continue;
            }
            if let Some(opened) = incident.id.split('.').next().and_then(|s| s.parse().ok()) {
                out.push(opened);
            }
            out.extend(incident.history.iter().copied());
            out.extend(incident.annotations.iter().map(|a| a.seq));
        }
    }

    /// Operators' actions on an incident still remembered (an ack, a
    /// resolve) come after the event that opened it.
    fn holds(&self, out: &mut Vec<(vigil_store::EventKind, u64)>) {
        let oldest = self
            .incidents
            .keys()
            .filter_map(|id| id.split('.').next()?.parse::<u64>().ok())
            .min();
        out.extend(oldest.map(|seq| (vigil_store::EventKind::Incident, seq)));
    }

    /// Version 2 had no ends: its incidents read with none.
    fn migrate(version: u32, state: &[u8]) -> Option<Self> {
        if version != 2 {
            return None;
        }
        let old: v2::IncidentView = postcard::from_bytes(state).ok()?;
        let incidents = old
            .incidents
            .into_iter()
            .map(|(id, i)| {
                let incident = Incident {
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
                };
                (id, incident)
            })
            .collect();
        Some(IncidentView {
            incidents,
            by_fingerprint: old.by_fingerprint,
            resolved_order: old.resolved_order,
            expiries: BTreeSet::new(),
        })
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
                let Some(inc) = self.incidents.get_mut(&action.incident) else {
                    return;
                };
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
                            inc.resolved_at = Some(seal.time);
                            let expired = inc.expires_at.take();
                            self.resolved_order.push_back(action.incident.clone());
                            if let Some(t) = expired {
                                self.expiries.remove(&(t, action.incident.clone()));
                            }
                        }
                    }
                    IncidentOp::Note => {}
                }
                inc.annotations.push(Annotation {
                    seq: seal.seq,
                    time: seal.time,
                    who: super::describe(&action.actor),
                    op: action.op,
                    note: action.note.clone(),
                });
                self.forget_old();
            }
            _ => {}
        }
    }
}

fn incident_id(seq: u64, index: usize) -> String {
    if index == 0 {
        seq.to_string()
    } else {
        format!("{seq}.{index}")
    }
}

impl IncidentView {
    fn alert(&mut self, seal: &Seal, index: usize, source: &str, alert: &Alert) {
        let key = (source.to_string(), alert.fingerprint.clone());
        let existing = self.by_fingerprint.get(&key).cloned();
        let firing = alert.status == AlertStatus::Firing;
        let Some(id) = existing else {
            if !firing {
                return; // a resolution for something never seen firing
            }
            let id = incident_id(seal.seq, index);
            self.incidents.insert(
                id.clone(),
                Incident {
                    id: id.clone(),
                    source: source.to_string(),
                    fingerprint: alert.fingerprint.clone(),
                    state: IncidentState::Open,
                    severity: alert.severity,
                    summary: alert.summary.clone(),
                    labels: alert.labels.clone(),
                    opened_at: seal.time,
                    updated_at: seal.time,
                    resolved_at: None,
                    fired: 1,
                    reopened: 0,
                    flips: VecDeque::new(),
                    flapping: false,
                    history: VecDeque::from([seal.seq]),
                    annotations: Vec::new(),
                    expires_at: alert.ends_at,
                },
            );
            if let Some(t) = alert.ends_at {
                self.expiries.insert((t, id.clone()));
            }
            self.by_fingerprint.insert(key, id);
            return;
        };
        let Some(inc) = self.incidents.get_mut(&id) else {
            return;
        };
        inc.updated_at = seal.time;
        inc.summary.clone_from(&alert.summary);
        if inc.history.back() != Some(&seal.seq) {
            inc.history.push_back(seal.seq);
            if inc.history.len() > HISTORY {
                inc.history.pop_front();
            }
        }
        let was_resolved = inc.state == IncidentState::Resolved;
        // A firing copy sets the end (none: no end); a resolution clears it.
        let end = if firing { alert.ends_at } else { None };
        let old_end = std::mem::replace(&mut inc.expires_at, end);
        if old_end != end {
            if let Some(t) = old_end {
                self.expiries.remove(&(t, id.clone()));
            }
            if let Some(t) = end {
                self.expiries.insert((t, id.clone()));
            }
        }
        if firing {
            inc.fired += 1;
            inc.severity = alert.severity;
            inc.labels.clone_from(&alert.labels);
            if was_resolved {
                inc.state = IncidentState::Open;
                inc.reopened += 1;
                flip(inc, seal.time);
            }
        } else if !was_resolved {
            inc.state = IncidentState::Resolved;
            inc.resolved_at = Some(seal.time);
            flip(inc, seal.time);
            self.resolved_order.push_back(id);
            self.forget_old();
        }
    }

    /// Whether an expiry of `alert` (its end as the daemon saw it) still
    /// applies: the incident is not resolved and no copy since moved its
    /// end later (or took it away).
    fn expiry_holds(&self, source: &str, alert: &Alert) -> bool {
        let key = (source.to_string(), alert.fingerprint.clone());
        let Some(inc) = self
            .by_fingerprint
            .get(&key)
            .and_then(|id| self.incidents.get(id))
        else {
            return false;
        };
        match (inc.expires_at, alert.ends_at) {
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
                self.by_fingerprint.remove(&(inc.source, inc.fingerprint));
                if let Some(t) = inc.expires_at {
                    self.expiries.remove(&(t, id));
                }
            }
        }
    }

    /// The incident a notification about `alerts` (firing first, as intents
    /// hold them) is about: the incident of the first alert that has one.
    ///
    /// Intents do not record an alert's source, so incidents are found by
    /// fingerprint; when sources share a fingerprint, the incident whose
    /// state agrees with the alert's status (a firing alert's is not
    /// resolved) wins, then the one updated last. One pass over the
    /// incidents, whatever the number of alerts.
    pub fn of_notification(&self, alerts: &[Alert]) -> Option<&Incident> {
        let wanted: HashMap<&str, usize> = alerts
            .iter()
            .enumerate()
            .rev()
            .map(|(i, a)| (a.fingerprint.as_str(), i))
            .collect();
        // Per alert index: the best incident so far.
        let mut best: BTreeMap<usize, &Incident> = BTreeMap::new();
        for inc in self.incidents.values() {
            let Some(&i) = wanted.get(inc.fingerprint.as_str()) else {
                continue;
            };
            let firing = alerts[i].status == AlertStatus::Firing;
            let rank = |inc: &Incident| {
                let agrees = (inc.state != IncidentState::Resolved) == firing;
                (agrees, inc.updated_at)
            };
            let better = best.get(&i).is_none_or(|b| rank(inc) > rank(b));
            if better {
                best.insert(i, inc);
            }
        }
        best.into_values().next()
    }
}

fn flip(inc: &mut Incident, time: i64) {
    inc.flips.push_back(time);
    while inc.flips.front().is_some_and(|t| time - t > FLAP_WINDOW) {
        inc.flips.pop_front();
    }
    inc.flapping = inc.flips.len() >= FLAP_TRANSITIONS;
}

/// The view's shape at version 2, as retention checkpoints may carry it.
mod v2 {
    use super::{Annotation, IncidentState};
    use serde::Deserialize;
    use std::collections::{BTreeMap, HashMap, VecDeque};
    use vigil_store::{Labels, Severity};

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub struct IncidentView {
        pub incidents: BTreeMap<String, Incident>,
        pub by_fingerprint: HashMap<(String, String), String>,
        pub resolved_order: VecDeque<String>,
    }

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub struct Incident {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{Actor, AlertsIngested, IncidentAction};

    use crate::test_seal as seal;

    fn alert(fp: &str, status: AlertStatus) -> Alert {
        Alert {
            fingerprint: fp.into(),
            status,
            severity: Severity::Error,
            summary: format!("{fp} is down"),
            labels: Labels::new(),
            annotations: Labels::new(),
            starts_at: None,
            ends_at: None,
            links: vec![],
        }
    }

    fn ingest(alerts: Vec<Alert>) -> Event {
        Event::AlertsIngested(AlertsIngested {
            source: "am".into(),
            driver: "alertmanager".into(),
            delivery_id: None,
            actor: Actor::Daemon,
            alerts,
            raw: None,
        })
    }

    #[test]
    fn alerts_open_update_resolve_and_reopen_one_incident() {
        let mut v = IncidentView::default();
        v.apply(
            &seal(10, 1),
            Some(&ingest(vec![
                alert("a", AlertStatus::Firing),
                alert("b", AlertStatus::Firing),
            ])),
        );
        assert_eq!(v.incidents.keys().collect::<Vec<_>>(), ["10", "10.1"]);
        v.apply(
            &seal(11, 2),
            Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
        );
        assert_eq!(v.incidents["10"].fired, 2);
        v.apply(
            &seal(12, 3),
            Some(&ingest(vec![alert("a", AlertStatus::Resolved)])),
        );
        assert_eq!(v.incidents["10"].state, IncidentState::Resolved);
        v.apply(
            &seal(13, 4),
            Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
        );
        let a = &v.incidents["10"];
        assert_eq!((a.state, a.reopened), (IncidentState::Open, 1));
        assert_eq!(a.history, [10, 11, 12, 13]);
        assert!(!a.flapping);
        // A resolution for something never seen opens nothing.
        v.apply(
            &seal(14, 5),
            Some(&ingest(vec![alert("z", AlertStatus::Resolved)])),
        );
        assert_eq!(v.incidents.len(), 2);
        let open = v
            .incidents
            .values()
            .filter(|i| i.state == IncidentState::Open);
        assert_eq!(open.count(), 2);
    }

    #[test]
    fn a_notification_is_about_its_first_alert_with_an_incident() {
        let mut v = IncidentView::default();
        let from = |source: &str, alerts| match ingest(alerts) {
            Event::AlertsIngested(mut a) => {
                a.source = source.into();
                Event::AlertsIngested(a)
            }
            _ => unreachable!(),
        };
        v.apply(
            &seal(10, 1),
            Some(&from("am", vec![alert("a", AlertStatus::Firing)])),
        );
        v.apply(
            &seal(11, 2),
            Some(&from("am", vec![alert("b", AlertStatus::Firing)])),
        );
        let unknown = alert("new", AlertStatus::Firing);
        let b = alert("b", AlertStatus::Firing);
        let a = alert("a", AlertStatus::Firing);
        // The first alert that has one, not the first tracked incident.
        let found = v.of_notification(&[unknown.clone(), b.clone(), a.clone()]);
        assert_eq!(found.map(|i| i.id.as_str()), Some("11"));
        assert!(v.of_notification(&[unknown]).is_none());
        assert!(v.of_notification(&[]).is_none());
        // Another source with the same fingerprint, resolved there: a firing
        // alert is about the open incident, a resolved one about the
        // resolved incident.
        v.apply(
            &seal(12, 3),
            Some(&from("grafana", vec![alert("a", AlertStatus::Firing)])),
        );
        v.apply(
            &seal(13, 4),
            Some(&from("grafana", vec![alert("a", AlertStatus::Resolved)])),
        );
        let found = v.of_notification(std::slice::from_ref(&a)).unwrap();
        assert_eq!((found.id.as_str(), found.source.as_str()), ("10", "am"));
        let resolved = alert("a", AlertStatus::Resolved);
        let found = v.of_notification(&[resolved]).unwrap();
        assert_eq!(found.id, "12");
        // Both open: the one updated last.
        v.apply(
            &seal(14, 5),
            Some(&from("grafana", vec![alert("a", AlertStatus::Firing)])),
        );
        assert_eq!(v.of_notification(&[a]).unwrap().id, "12");
    }

    #[test]
    fn rapid_flips_mark_flapping_and_old_flips_expire() {
        let mut v = IncidentView::default();
        let mut t = 0;
        let mut seq = 1;
        let mut step = |v: &mut IncidentView, status, dt: i64| {
            t += dt;
            seq += 1;
            v.apply(&seal(seq, t), Some(&ingest(vec![alert("f", status)])));
        };
        step(&mut v, AlertStatus::Firing, 0);
        for _ in 0..2 {
            step(&mut v, AlertStatus::Resolved, 60_000_000);
            step(&mut v, AlertStatus::Firing, 60_000_000);
        }
        assert!(v.incidents["2"].flapping);
        step(&mut v, AlertStatus::Resolved, 2 * FLAP_WINDOW);
        assert!(!v.incidents["2"].flapping);
    }

    #[test]
    fn operators_ack_resolve_and_note() {
        let mut v = IncidentView::default();
        v.apply(
            &seal(5, 1),
            Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
        );
        let act = |op, note: Option<&str>| {
            Event::IncidentAction(IncidentAction {
                incident: "5".into(),
                op,
                note: note.map(str::to_string),
                actor: Actor::Local {
                    uid: 1000,
                    gid: 1000,
                    pid: 1,
                    user: Some("alice".into()),
                },
            })
        };
        v.apply(&seal(6, 2), Some(&act(IncidentOp::Ack, Some("looking"))));
        assert_eq!(v.incidents["5"].state, IncidentState::Acked);
        v.apply(
            &seal(7, 3),
            Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
        );
        assert_eq!(v.incidents["5"].state, IncidentState::Acked);
        v.apply(&seal(8, 4), Some(&act(IncidentOp::Resolve, None)));
        let inc = &v.incidents["5"];
        assert_eq!(inc.state, IncidentState::Resolved);
        assert_eq!(inc.annotations.len(), 2);
        assert!(
            inc.annotations[0].who.contains("alice"),
            "{}",
            inc.annotations[0].who
        );
        // Replaying the same entries gives the same view.
        let mut again = IncidentView::default();
        for (s, e) in [
            (seal(5, 1), ingest(vec![alert("a", AlertStatus::Firing)])),
            (seal(6, 2), act(IncidentOp::Ack, Some("looking"))),
            (seal(7, 3), ingest(vec![alert("a", AlertStatus::Firing)])),
            (seal(8, 4), act(IncidentOp::Resolve, None)),
        ] {
            again.apply(&s, Some(&e));
        }
        assert_eq!(again, v);
    }

    fn ending(fp: &str, end: i64) -> Alert {
        Alert {
            ends_at: Some(end),
            ..alert(fp, AlertStatus::Firing)
        }
    }

    /// The daemon's resolution of `fp` whose end it saw at `end`.
    fn expiry(fp: &str, end: i64) -> Event {
        Event::AlertsIngested(AlertsIngested {
            driver: LIFETIME_DRIVER.into(),
            alerts: vec![Alert {
                ends_at: Some(end),
                ..alert(fp, AlertStatus::Resolved)
            }],
            ..match ingest(vec![]) {
                Event::AlertsIngested(a) => a,
                _ => unreachable!(),
            }
        })
    }

    #[test]
    fn alerts_with_an_end_expire_unless_sent_again() {
        let mut v = IncidentView::default();
        v.apply(
            &seal(1, 1),
            Some(&ingest(vec![ending("a", 100), ending("b", 300)])),
        );
        v.apply(
            &seal(2, 2),
            Some(&ingest(vec![alert("c", AlertStatus::Firing)])),
        );
        assert_eq!(v.next_expiry(), Some(100));
        let due: Vec<&str> = v.expired(100).map(|i| i.fingerprint.as_str()).collect();
        assert_eq!(due, ["a"], "ends at or before now; c has no end");
        // A resend moves a's end: it is no longer due.
        v.apply(&seal(3, 50), Some(&ingest(vec![ending("a", 400)])));
        assert_eq!(v.expired(100).count(), 0);
        assert_eq!(v.next_expiry(), Some(300));
        // An expiry decided before the resend (it saw end 100) is stale.
        v.apply(&seal(4, 101), Some(&expiry("a", 100)));
        assert_eq!(v.incidents["1"].state, IncidentState::Open);
        // One that saw the current end resolves it, and it leaves the index.
        v.apply(&seal(5, 401), Some(&expiry("a", 400)));
        assert_eq!(v.incidents["1"].state, IncidentState::Resolved);
        assert_eq!(v.incidents["1"].expires_at, None);
        assert_eq!(v.expired(i64::MAX).count(), 1, "only b");
        // An expiry never opens an incident nor reopens a resolved one.
        v.apply(&seal(6, 402), Some(&expiry("a", 400)));
        v.apply(&seal(7, 403), Some(&expiry("zz", 400)));
        assert_eq!(v.incidents["1"].state, IncidentState::Resolved);
        assert_eq!(v.incidents.len(), 3);
        // An operator's resolve clears the end too.
        v.apply(
            &seal(8, 404),
            Some(&Event::IncidentAction(IncidentAction {
                incident: "1.1".into(),
                op: IncidentOp::Resolve,
                note: None,
                actor: Actor::Daemon,
            })),
        );
        assert_eq!(v.next_expiry(), None);
        // A firing copy without an end takes the end away.
        v.apply(&seal(9, 405), Some(&ingest(vec![ending("c", 500)])));
        v.apply(
            &seal(10, 406),
            Some(&ingest(vec![alert("c", AlertStatus::Firing)])),
        );
        assert_eq!(v.next_expiry(), None);
    }

    #[test]
    fn a_version_2_checkpoint_state_reads_with_no_ends() {
        let mut current = IncidentView::default();
        current.apply(
            &seal(1, 1),
            Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
        );
        let i = &current.incidents["1"];
        let old = v2::IncidentView {
            incidents: BTreeMap::from([(
                "1".to_string(),
                v2::Incident {
                    id: i.id.clone(),
                    source: i.source.clone(),
                    fingerprint: i.fingerprint.clone(),
                    state: i.state,
                    severity: i.severity,
                    summary: i.summary.clone(),
                    labels: i.labels.clone(),
                    opened_at: i.opened_at,
                    updated_at: i.updated_at,
                    resolved_at: i.resolved_at,
                    fired: i.fired,
                    reopened: i.reopened,
                    flips: i.flips.clone(),
                    flapping: i.flapping,
                    history: i.history.clone(),
                    annotations: i.annotations.clone(),
                },
            )]),
            by_fingerprint: current.by_fingerprint.clone(),
            resolved_order: current.resolved_order.clone(),
        };
        let state = postcard::to_allocvec(&old).unwrap();
        let mut migrated = IncidentView::migrate(2, &state).expect("version 2 reads");
        assert_eq!(migrated, current, "the same view, with no ends");
        // And it goes on: the same alert updates the same incident.
        migrated.apply(
            &seal(2, 2),
            Some(&ingest(vec![alert("a", AlertStatus::Resolved)])),
        );
        assert_eq!(migrated.incidents["1"].state, IncidentState::Resolved);
        assert!(IncidentView::migrate(3, &state).is_none());
    }
}
