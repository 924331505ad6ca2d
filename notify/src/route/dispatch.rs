//! Aggregation groups and their timers, as a pure reducer: the caller
//! feeds alerts with [`Dispatcher::observe`], asks [`Dispatcher::due`] what
//! to notify at a time it chooses, and sleeps until [`Dispatcher::next_due`].
//!
//! Timing is Alertmanager's aggregation group with its notification log
//! folded in:
//!
//! * a new group waits `group_wait` before its first tick, or ticks at once
//!   if an alert started more than `group_wait` ago (it already waited);
//! * after that it ticks every `group_interval`, counted from the moment
//!   the previous tick was processed;
//! * at a tick it notifies if a firing alert was not in the last
//!   notification, if an alert resolved since (as if every receiver had
//!   `send_resolved: true`), if everything resolved and the last
//!   notification had firing alerts, or if `repeat_interval` passed since
//!   the last notification; otherwise the tick sends nothing;
//! * after each tick resolved alerts leave the group, and an empty group
//!   is removed.
//!
//! Ticks are visible: [`Dispatcher::next_due`] is the earliest tick of any
//! group, and a tick may return no [`Flush`]. That is what lets a silence
//! expiring or a mute interval ending be noticed at the next tick, as in
//! Alertmanager, without the dispatcher knowing about either: a [`Gate`]
//! passed to [`Dispatcher::due_gated`] decides at each tick which alerts
//! are muted, and muted alerts are left out of both the notification and
//! the record of what was notified.
//!
//! A [`Flush`] counts as notified when it is returned: the daemon's
//! durable outbox owns retries.
//!
//! The whole state is `serde`-serializable (no `flatten`, no skipped
//! fields, so `postcard` works too) and is meant to be snapshotted and
//! restored: it is not re-derivable by replaying alerts, since when `due`
//! was called is not in the event log.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vigil_store::compact::{Slab, SlotIndex};
use vigil_store::{Alert, AlertStatus, LabelSet, Labels};

use super::group::{GroupKey, group_labels};
use super::held::{Alerts, Held, shared_strs};
use super::tree::MatchedRoute;

mod saved;
pub use saved::GroupsV1;

/// Decides at flush time what must not be notified: Alertmanager's
/// inhibition, silence and time-interval pipeline stages.
pub trait Gate {
    /// Whether the route sends nothing at `now` (inside a mute time
    /// interval, or outside all its active ones).
    fn route_muted(&self, route: &MatchedRoute, now: Timestamp) -> bool;
    /// Whether `alert` is left out at `now` (silenced, or inhibited by one
    /// of `firing`, every firing alert the dispatcher holds).
    fn alert_muted(&self, alert: &Alert, firing: &[&Labels], now: Timestamp) -> bool;
    /// Whether [`Gate::alert_muted`] looks at `firing` at all; when it does
    /// not (no inhibit rules), a tick skips collecting every firing alert.
    fn uses_firing(&self) -> bool {
        true
    }
}

/// A gate that mutes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ungated;

impl Gate for Ungated {
    fn route_muted(&self, _: &MatchedRoute, _: Timestamp) -> bool {
        false
    }
    fn alert_muted(&self, _: &Alert, _: &[&Labels], _: Timestamp) -> bool {
        false
    }
    fn uses_firing(&self) -> bool {
        false
    }
}

/// One notification to send: a group's alerts at a tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flush {
    /// The group.
    pub group_key: GroupKey,
    /// Receiver to notify.
    pub receiver: String,
    /// Route the group belongs to.
    pub route_id: String,
    /// The labels the group shares.
    pub group_labels: Labels,
    /// The group's unmuted alerts, firing first, each part by fingerprint;
    /// packed as the group holds them (a tick of a hundred thousand groups
    /// would otherwise hold every alert unpacked at once): see
    /// [`Flush::unpacked`].
    pub alerts: Vec<Held>,
    /// How many of `alerts` are firing.
    pub firing: usize,
    /// How many of `alerts` are resolved.
    pub resolved: usize,
}

impl Flush {
    /// The alerts, unpacked.
    pub fn unpacked(&self) -> Vec<Alert> {
        self.alerts.iter().map(Held::to_alert).collect()
    }
}

/// One group as [`Dispatcher::groups`] shows it.
pub struct GroupState<'a> {
    /// The receiver its route notifies.
    pub receiver: &'a str,
    /// The labels its alerts share.
    pub labels: &'a LabelSet,
    /// Its alerts, by fingerprint.
    pub alerts: Vec<Alert>,
}

/// The aggregation groups.
///
/// A dead receiver may leave a hundred thousand groups waiting, so a group
/// lives in a slab slot, the index holds the hash of its key and the slot,
/// and the key itself ([`GroupKey`]) is made from the route and labels
/// only when a flush or a listing names it.
///
/// Serialized as its groups alone (see [`saved`]); the index and the
/// schedule are rebuilt on load, and groups of the same route share one
/// copy of it again.
#[derive(Clone, Debug, Default)]
pub struct Dispatcher {
    groups: Slab<Group>,
    /// The hash of each group's key → its slot.
    index: SlotIndex,
    /// Every group's slot by its next tick, so a tick visits only the due
    /// ones and the next wake-up is the first entry, however many wait.
    schedule: BTreeSet<(i64, u32)>,
    /// The route each group of a route id holds, as last matched.
    routes: HashMap<String, Arc<MatchedRoute>>,
}

/// The same groups under the same keys, wherever their slots: the index,
/// schedule and routes follow from the groups.
impl PartialEq for Dispatcher {
    fn eq(&self, other: &Dispatcher) -> bool {
        self.len() == other.len()
            && self.keyed().iter().all(|(key, _, group)| {
                other
                    .slot_of(key)
                    .is_some_and(|slot| other.groups[slot] == **group)
            })
    }
}

/// The copy of `matched` in `routes`, made the one if it differs.
fn shared_route(
    routes: &mut HashMap<String, Arc<MatchedRoute>>,
    matched: &MatchedRoute,
) -> Arc<MatchedRoute> {
    match routes.get(&matched.route_id) {
        Some(r) if **r == *matched => r.clone(),
        _ => {
            let r = Arc::new(matched.clone());
            routes.insert(matched.route_id.clone(), r.clone());
            r
        }
    }
}

/// One aggregation group. Times are unix microseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Group {
    /// The route, as of the latest alert observed (so a reloaded config's
    /// timings apply to existing groups); shared by the route's groups.
    #[serde(with = "shared")]
    route: Arc<MatchedRoute>,
    /// Often the very set of its alert's labels (`group_by = ["..."]`).
    labels: LabelSet,
    /// By fingerprint.
    alerts: Alerts,
    next_tick: i64,
    /// Whether the first tick (after `group_wait`) has happened.
    ticked: bool,
    /// The last notification: Alertmanager's notification log entry.
    last: Option<Notified>,
}

/// An `Arc<T>` as the `T` it holds.
mod shared {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    pub fn serialize<T: Serialize, S: Serializer>(v: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        T::serialize(v, s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }
}

/// What the last notification of a group held: fingerprints, sorted,
/// shared with the alerts held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Notified {
    at: i64,
    #[serde(with = "shared_strs")]
    firing: Box<[Arc<str>]>,
    #[serde(with = "shared_strs")]
    resolved: Box<[Arc<str>]>,
}

impl Group {
    fn key(&self) -> GroupKey {
        GroupKey::of(&self.route.route_id, &self.labels)
    }
}

/// A tick's outcome, computed before the groups are changed.
struct Tick {
    slot: u32,
    flush: Option<(Flush, Notified)>,
}

impl Dispatcher {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `alert` into its group under `matched` (creating the group),
    /// replacing the previous version of the same fingerprint. Call once
    /// per matched route.
    pub fn observe(&mut self, matched: &MatchedRoute, alert: &Alert, now: Timestamp) {
        let now = now.as_microsecond();
        let labels = group_labels(matched, &alert.labels);
        let hash = self
            .index
            .hash(GroupKey::new(&matched.route_id, &labels).as_str());
        let wait = micros(matched.timings.group_wait);
        let held = Held::new(alert);
        let route = shared_route(&mut self.routes, matched);
        let groups = &self.groups;
        let found = self.index.find(hash, |slot| {
            let g = &groups[slot];
            g.route.route_id == matched.route_id && g.labels.matches(&labels)
        });
        let slot = found.unwrap_or_else(|| {
            let slot = self.groups.insert(Group {
                route: route.clone(),
                labels: if held.labels.matches(&labels) {
                    held.labels.clone()
                } else {
                    LabelSet::new(&labels)
                },
                alerts: Alerts::default(),
                next_tick: now.saturating_add(wait),
                ticked: false,
                last: None,
            });
            self.index.insert(hash, slot);
            slot
        });
        let group = &mut self.groups[slot];
        let scheduled = found.map(|_| group.next_tick);
        group.route = route;
        // Alertmanager: an alert that started more than group_wait ago has
        // waited long enough; the group's first tick comes at once.
        if !group.ticked
            && alert
                .starts_at
                .is_some_and(|started| started.saturating_add(wait) < now)
        {
            group.next_tick = group.next_tick.min(now);
        }
        group.alerts.insert(held);
        let next = group.next_tick;
        self.reschedule(slot, scheduled, Some(next));
    }

    /// Moves `slot` in the schedule from tick `from` to tick `to` (`None`:
    /// not scheduled / removed).
    fn reschedule(&mut self, slot: u32, from: Option<i64>, to: Option<i64>) {
        if from == to {
            return;
        }
        if let Some(t) = from {
            self.schedule.remove(&(t, slot));
        }
        if let Some(t) = to {
            self.schedule.insert((t, slot));
        }
    }

    /// The slot of the group named `key`.
    fn slot_of(&self, key: &GroupKey) -> Option<u32> {
        let hash = self.index.hash(key.as_str());
        self.index
            .find(hash, |slot| self.groups[slot].key() == *key)
    }

    /// Every group with its key and slot, by key.
    fn keyed(&self) -> Vec<(GroupKey, u32, &Group)> {
        let mut all: Vec<(GroupKey, u32, &Group)> = self
            .groups
            .iter()
            .map(|(slot, g)| (g.key(), slot, g))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Takes the group of `slot` out of the slab and the index.
    fn remove(&mut self, slot: u32) {
        if let Some(group) = self.groups.remove(slot) {
            self.index
                .remove(self.index.hash(group.key().as_str()), slot);
        }
    }

    /// Records that group `key` was notified at `at` about these alerts
    /// (by fingerprint), as if a tick had sent it: what replaying a
    /// recorded intent does after a restart, so a notification the outbox
    /// already holds is not decided a second time. Unknown groups and
    /// older records are ignored.
    pub fn record(
        &mut self,
        key: &GroupKey,
        firing: impl IntoIterator<Item = String>,
        resolved: impl IntoIterator<Item = String>,
        at: Timestamp,
    ) {
        let at = at.as_microsecond();
        let Some(slot) = self.slot_of(key) else {
            return;
        };
        let group = &mut self.groups[slot];
        if group.last.as_ref().is_some_and(|last| last.at >= at) {
            return;
        }
        // The fingerprints held share their copy with the record.
        let shared = |fps: BTreeSet<String>| -> Box<[Arc<str>]> {
            let mut held = group.alerts.values().map(|h| &h.fingerprint).peekable();
            fps.into_iter()
                .map(|fp| {
                    while held.next_if(|h| ***h < *fp).is_some() {}
                    match held.peek() {
                        Some(h) if ***h == *fp => Arc::clone(h),
                        _ => Arc::from(fp),
                    }
                })
                .collect()
        };
        group.last = Some(Notified {
            at,
            firing: shared(firing.into_iter().collect()),
            resolved: shared(resolved.into_iter().collect()),
        });
        group.ticked = true;
        let interval = micros(group.route.timings.group_interval);
        let scheduled = group.next_tick;
        group.next_tick = group.next_tick.max(at.saturating_add(interval));
        let next = group.next_tick;
        self.reschedule(slot, Some(scheduled), Some(next));
    }

    /// Forgets what group `key` was last notified about, so its next tick
    /// decides afresh: for a notification that could not be recorded.
    pub fn forget_notified(&mut self, key: &GroupKey) {
        if let Some(slot) = self.slot_of(key) {
            self.groups[slot].last = None;
        }
    }

    /// Processes every group whose tick is at or before `now`, muting
    /// nothing. See [`Dispatcher::due_gated`].
    pub fn due(&mut self, now: Timestamp) -> Vec<Flush> {
        self.due_gated(now, &Ungated)
    }

    /// Processes every group whose tick is at or before `now`: returns the
    /// notifications to send, in the order their groups fell due (by group
    /// key among groups due at the same instant), then drops resolved
    /// alerts and empty groups and schedules the next ticks.
    pub fn due_gated(&mut self, now: Timestamp, gate: &impl Gate) -> Vec<Flush> {
        let now_us = now.as_microsecond();
        let ticks = self.decide(now, now_us, gate);
        let mut out = Vec::new();
        for tick in ticks {
            let Some(group) = self.groups.get_mut(tick.slot) else {
                continue;
            };
            if let Some((flush, notified)) = tick.flush {
                group.last = Some(notified);
                out.push(flush);
            }
            // Alertmanager deletes the resolved alerts a tick saw, whether
            // or not it sent anything (muted ones included).
            group.alerts.retain(|a| a.status == AlertStatus::Firing);
            group.ticked = true;
            let scheduled = group.next_tick;
            group.next_tick = now_us.saturating_add(micros(group.route.timings.group_interval));
            let next = if group.alerts.is_empty() {
                self.remove(tick.slot);
                None
            } else {
                Some(group.next_tick)
            };
            self.reschedule(tick.slot, Some(scheduled), next);
        }
        out
    }

    /// The outcome of every due tick, without changing anything.
    fn decide(&self, now: Timestamp, now_us: i64, gate: &impl Gate) -> Vec<Tick> {
        // By tick, then by key.
        let mut due: Vec<(i64, GroupKey, u32, &Group)> = self
            .schedule
            .iter()
            .take_while(|(tick, _)| *tick <= now_us)
            .filter_map(|&(tick, slot)| {
                let group = self.groups.get(slot)?;
                Some((tick, group.key(), slot, group))
            })
            .collect();
        if due.is_empty() {
            return Vec::new();
        }
        due.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let firing: Vec<Labels> = if gate.uses_firing() {
            self.firing_held().map(|a| a.labels.to_labels()).collect()
        } else {
            Vec::new()
        };
        let firing: Vec<&Labels> = firing.iter().collect();
        due.into_iter()
            .map(|(_, key, slot, group)| Tick {
                slot,
                flush: flush(key, group, now, now_us, gate, &firing),
            })
            .collect()
    }

    /// When [`Dispatcher::due`] next has a group to process (possibly to
    /// send nothing), or `None` when there are no groups.
    pub fn next_due(&self) -> Option<Timestamp> {
        let &(t, _) = self.schedule.first()?;
        Some(Timestamp::from_microsecond(t).unwrap_or(Timestamp::MAX))
    }

    /// Every firing alert held, once per fingerprint (an alert in several
    /// groups, through `continue`, is listed once): the inhibition sources.
    pub fn firing(&self) -> impl Iterator<Item = Alert> + '_ {
        self.firing_held().map(Held::to_alert)
    }

    fn firing_held(&self) -> impl Iterator<Item = &Held> {
        let mut seen = BTreeSet::new();
        self.groups
            .iter()
            .flat_map(|(_, g)| g.alerts.values())
            .filter(move |a| a.status == AlertStatus::Firing && seen.insert(&*a.fingerprint))
    }

    /// Every group as it stands: its receiver, labels and alerts (resolved
    /// ones stay until the group's next tick). What Alertmanager's
    /// `GET /api/v2/alerts/groups` lists. By key.
    pub fn groups(&self) -> impl Iterator<Item = GroupState<'_>> {
        self.keyed().into_iter().map(|(_, _, g)| GroupState {
            receiver: &g.route.receiver,
            labels: &g.labels,
            alerts: g.alerts.values().map(Held::to_alert).collect(),
        })
    }

    /// Resolves the alert `expired` names (by fingerprint, in every group
    /// that holds it: the route tree or its grouping may have changed since
    /// it arrived) because its lifetime ended: each copy held firing with an
    /// end no later than `expired.ends_at`. A copy that arrived after the
    /// expiry was decided (its end moved later, perhaps sent by another
    /// source) stays firing. The held copy keeps its annotations and links;
    /// only its status and end change. Returns whether any was resolved.
    ///
    /// Visits every group: expiries are few next to alerts.
    pub fn expire(&mut self, expired: &Alert) -> bool {
        let Some(end) = expired.ends_at else {
            return false;
        };
        let mut resolved = false;
        for (_, group) in self.groups.iter_mut() {
            let Some(held) = group.alerts.get_mut(&expired.fingerprint) else {
                continue;
            };
            if held.status == AlertStatus::Firing && held.ends_at().is_some_and(|e| e <= end) {
                held.resolve(end);
                resolved = true;
            }
        }
        resolved
    }

    /// The keys of the current groups, in order ([`Dispatcher::groups`]'
    /// order).
    pub fn group_keys(&self) -> impl Iterator<Item = GroupKey> {
        self.keyed().into_iter().map(|(key, _, _)| key)
    }

    /// The alerts of one group, by fingerprint.
    pub fn group_alerts(&self, key: &GroupKey) -> Option<impl Iterator<Item = Alert> + '_> {
        let slot = self.slot_of(key)?;
        Some(self.groups[slot].alerts.values().map(Held::to_alert))
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// What a tick of `group` at `now` sends, if anything.
fn flush(
    key: GroupKey,
    group: &Group,
    now: Timestamp,
    now_us: i64,
    gate: &impl Gate,
    firing_everywhere: &[&Labels],
) -> Option<(Flush, Notified)> {
    if gate.route_muted(&group.route, now) {
        return None;
    }
    let (firing, resolved): (Vec<&Held>, Vec<&Held>) = group
        .alerts
        .values()
        .filter(|h| !gate.alert_muted(&h.to_alert(), firing_everywhere, now))
        .partition(|h| h.status == AlertStatus::Firing);
    // Alertmanager stops the pipeline when every alert is muted.
    if firing.is_empty() && resolved.is_empty() {
        return None;
    }
    // In fingerprint order, as the group holds them.
    let fingerprints = |alerts: &[&Held]| -> Box<[Arc<str>]> {
        alerts.iter().map(|h| h.fingerprint.clone()).collect()
    };
    let firing_set = fingerprints(&firing);
    let resolved_set = fingerprints(&resolved);
    let repeat = micros(group.route.timings.repeat_interval);
    if !needs_update(
        group.last.as_ref(),
        &firing_set,
        &resolved_set,
        now_us,
        repeat,
    ) {
        return None;
    }
    // Already in fingerprint order: the group keeps its alerts by it.
    let flush = Flush {
        group_key: key,
        receiver: group.route.receiver.clone(),
        route_id: group.route.route_id.clone(),
        group_labels: group.labels.to_labels(),
        firing: firing.len(),
        resolved: resolved.len(),
        alerts: firing.into_iter().chain(resolved).cloned().collect(),
    };
    let notified = Notified {
        at: now_us,
        firing: firing_set,
        resolved: resolved_set,
    };
    Some((flush, notified))
}

/// Alertmanager's `DedupStage.needsUpdate`, with `send_resolved` on and
/// the repeat compared inclusively (see the module doc of `route`).
fn needs_update(
    last: Option<&Notified>,
    firing: &[Arc<str>],
    resolved: &[Arc<str>],
    now: i64,
    repeat: i64,
) -> bool {
    let Some(last) = last else {
        // Never notified: only firing alerts are news.
        return !firing.is_empty();
    };
    if !is_subset(firing, &last.firing) {
        return true;
    }
    if firing.is_empty() {
        // All resolved: say so, unless the receiver never heard of them.
        return !last.firing.is_empty();
    }
    if !is_subset(resolved, &last.resolved) {
        return true;
    }
    last.at.saturating_add(repeat) <= now
}

/// Whether every item of sorted `a` is in sorted `b`.
fn is_subset(a: &[Arc<str>], b: &[Arc<str>]) -> bool {
    let mut b = b.iter().peekable();
    a.iter().all(|x| {
        while b.next_if(|y| ***y < **x).is_some() {}
        b.next_if(|y| ***y == **x).is_some()
    })
}

/// A duration in microseconds, saturating (durations are at most a
/// century once validated).
fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
