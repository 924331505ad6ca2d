//! The reference model: what the dispatcher must do, in plain sets and
//! maps with no regard for speed. Alertmanager's semantics as `route`'s
//! module documentation says Vigil keeps them (and where it departs).

use std::collections::{BTreeMap, BTreeSet};

use vigil_notify::route::GroupKey;
use vigil_store::{Alert, AlertStatus, Labels};

use super::{INTERVALS, SECOND};

/// A regex value as the model reads it.
#[derive(Clone, Debug)]
pub enum Pattern {
    /// `x|y`: exactly these values (`""` among them: `|x`).
    OneOf(Vec<&'static str>),
    /// `.*`
    Anything,
    /// `.+`
    NonEmpty,
}

impl Pattern {
    pub fn matches(&self, v: &str) -> bool {
        match self {
            Pattern::OneOf(values) => values.contains(&v),
            Pattern::Anything => true,
            Pattern::NonEmpty => !v.is_empty(),
        }
    }

    pub fn regex(&self) -> String {
        match self {
            Pattern::OneOf(values) => values.join("|"),
            Pattern::Anything => ".*".into(),
            Pattern::NonEmpty => ".+".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Test {
    Eq(&'static str),
    Ne(&'static str),
    Re(Pattern),
    NotRe(Pattern),
}

/// A label matcher.
#[derive(Clone, Debug)]
pub struct M {
    pub name: &'static str,
    pub test: Test,
}

/// A label's value; missing reads as empty, everywhere.
fn value<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels.get(name).map_or("", String::as_str)
}

impl M {
    pub fn matches_value(&self, v: &str) -> bool {
        match &self.test {
            Test::Eq(x) => v == *x,
            Test::Ne(x) => v != *x,
            Test::Re(p) => p.matches(v),
            Test::NotRe(p) => !p.matches(v),
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(value(labels, self.name))
    }

    /// As written in a configuration.
    pub fn text(&self) -> String {
        let (op, v) = match &self.test {
            Test::Eq(x) => ("=", (*x).to_string()),
            Test::Ne(x) => ("!=", (*x).to_string()),
            Test::Re(p) => ("=~", p.regex()),
            Test::NotRe(p) => ("!~", p.regex()),
        };
        format!("{}{op}\"{v}\"", self.name)
    }
}

fn all(matchers: &[M], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

pub fn texts(matchers: &[M]) -> Vec<String> {
    matchers.iter().map(M::text).collect()
}

/// A route as configured; `None` is unset (inherited).
#[derive(Clone, Debug)]
pub struct Route {
    pub receiver: Option<&'static str>,
    /// `Some([])` is inherited too; `Some(["..."])` is every label.
    pub group_by: Option<Vec<&'static str>>,
    pub matchers: Vec<M>,
    pub continues: bool,
    /// Seconds.
    pub wait: Option<i64>,
    pub interval: Option<i64>,
    pub repeat: Option<i64>,
    /// Time intervals muting the route, or outside all of which it is
    /// muted (neither is inherited).
    pub mute: Vec<&'static str>,
    pub active: Vec<&'static str>,
    pub routes: Vec<Route>,
}

/// A route's settings once inherited: what an alert matching it gets.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub id: String,
    pub receiver: String,
    /// `None`: every label.
    pub group_by: Option<BTreeSet<String>>,
    /// Micros.
    pub wait: i64,
    pub interval: i64,
    pub repeat: i64,
    pub mute: Vec<String>,
    pub active: Vec<String>,
}

impl Settings {
    /// Alertmanager's defaults at the root: 30s, 5m, 4h, no grouping.
    pub fn defaults() -> Settings {
        Settings {
            id: "0".into(),
            receiver: String::new(),
            group_by: Some(BTreeSet::new()),
            wait: 30 * SECOND,
            interval: 300 * SECOND,
            repeat: 4 * 3600 * SECOND,
            mute: Vec::new(),
            active: Vec::new(),
        }
    }

    pub fn child(&self, route: &Route, id: String) -> Settings {
        let group_by = match route.group_by.as_deref() {
            None | Some([]) => self.group_by.clone(),
            Some(["..."]) => None,
            Some(names) => Some(names.iter().map(|n| n.to_string()).collect()),
        };
        Settings {
            id,
            receiver: route.receiver.map_or(self.receiver.clone(), str::to_string),
            group_by,
            wait: route.wait.map_or(self.wait, |s| s * SECOND),
            interval: route.interval.map_or(self.interval, |s| s * SECOND),
            repeat: route.repeat.map_or(self.repeat, |s| s * SECOND),
            mute: route.mute.iter().map(|n| n.to_string()).collect(),
            active: route.active.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// Whether the route sends nothing at `now`: inside one of its mute
    /// intervals, or outside all of its active ones (if any).
    pub fn muted(&self, now: i64) -> bool {
        let minute = now.div_euclid(60 * SECOND).rem_euclid(24 * 60);
        let inside = |name: &String| {
            INTERVALS
                .iter()
                .filter(|(n, _)| n == name)
                .flat_map(|(_, ranges)| ranges)
                .any(|&(from, to)| from <= minute && minute < to)
        };
        self.mute.iter().any(inside) || (!self.active.is_empty() && !self.active.iter().any(inside))
    }

    /// The labels an alert is grouped by here (empty values are missing).
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        labels
            .iter()
            .filter(|(n, v)| {
                !v.is_empty() && self.group_by.as_ref().is_none_or(|by| by.contains(*n))
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }
}

/// The routes an alert takes: depth first; a node matches when all its
/// matchers do; among siblings the first match ends the search unless it
/// has `continue`; a matching node none of whose children match is itself
/// the match.
pub fn routes_for(root: &Route, labels: &Labels) -> Vec<Settings> {
    fn walk(route: &Route, me: Settings, labels: &Labels, out: &mut Vec<Settings>) -> bool {
        if !all(&route.matchers, labels) {
            return false;
        }
        let before = out.len();
        for (i, child) in route.routes.iter().enumerate() {
            let settings = me.child(child, format!("{}.{i}", me.id));
            if walk(child, settings, labels, out) && !child.continues {
                break;
            }
        }
        if out.len() == before {
            out.push(me);
        }
        true
    }
    let mut out = Vec::new();
    let root_settings = Settings::defaults().child(root, "0".into());
    walk(root, root_settings, labels, &mut out);
    out
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub source: Vec<M>,
    pub target: Vec<M>,
    pub equal: Vec<&'static str>,
}

impl Rule {
    /// Whether firing `source` inhibits `target`: both sides match, the
    /// `equal` labels are equal (missing equals empty), and an alert that
    /// matches both sides is not inhibited by one that does too.
    pub fn inhibits(&self, target: &Labels, source: &Labels) -> bool {
        all(&self.target, target)
            && all(&self.source, source)
            && self
                .equal
                .iter()
                .all(|n| value(target, n) == value(source, n))
            && !(all(&self.source, target) && all(&self.target, source))
    }
}

#[derive(Clone, Debug)]
pub struct Silenced {
    pub matchers: Vec<M>,
    /// Micros; active from `start` (inclusive) to `end` (exclusive).
    pub start: i64,
    pub end: i64,
}

impl Silenced {
    /// Refused: no matcher, only matchers an alert without labels passes,
    /// or an end before the start.
    pub fn valid(&self) -> bool {
        !self.matchers.is_empty()
            && !self.matchers.iter().all(|m| m.matches_value(""))
            && self.start <= self.end
    }

    pub fn mutes(&self, labels: &Labels, now: i64) -> bool {
        self.start <= now && now < self.end && all(&self.matchers, labels)
    }
}

/// What a group last notified.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: i64,
    pub firing: BTreeSet<String>,
    pub resolved: BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub route: Settings,
    pub alerts: BTreeMap<String, Alert>,
    pub next_tick: i64,
    pub ticked: bool,
    pub last: Option<Sent>,
}

/// One notification, as both sides are compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Out {
    pub route_id: String,
    pub receiver: String,
    pub group_labels: Labels,
    /// Firing first, each part by fingerprint.
    pub alerts: Vec<Alert>,
    pub firing: usize,
    pub resolved: usize,
}

pub struct Model {
    pub tree: Route,
    pub rules: Vec<Rule>,
    pub silences: Vec<Silenced>,
    /// By route id and group labels.
    pub groups: BTreeMap<(String, Labels), Group>,
}

impl Model {
    pub fn observe(&mut self, alert: &Alert, now: i64) {
        for route in routes_for(&self.tree, &alert.labels) {
            let key = (route.id.clone(), route.group_labels(&alert.labels));
            let group = self.groups.entry(key).or_insert_with(|| Group {
                route: route.clone(),
                alerts: BTreeMap::new(),
                next_tick: now + route.wait,
                ticked: false,
                last: None,
            });
            // An alert that started more than group_wait ago has waited:
            // a group that has not ticked yet ticks at once.
            if !group.ticked && alert.starts_at.is_some_and(|s| s + route.wait < now) {
                group.next_tick = group.next_tick.min(now);
            }
            group.route = route;
            group
                .alerts
                .insert(alert.fingerprint.clone(), alert.clone());
        }
    }

    /// The alert's lifetime ended at `end`: copies firing with an end no
    /// later than that resolve.
    pub fn expire(&mut self, fingerprint: &str, end: i64) -> bool {
        let mut any = false;
        for group in self.groups.values_mut() {
            if let Some(a) = group.alerts.get_mut(fingerprint)
                && a.status == AlertStatus::Firing
                && a.ends_at.is_some_and(|e| e <= end)
            {
                a.status = AlertStatus::Resolved;
                a.ends_at = Some(end);
                any = true;
            }
        }
        any
    }

    pub fn next_due(&self) -> Option<i64> {
        self.groups.values().map(|g| g.next_tick).min()
    }

    /// Every firing alert's labels, once per fingerprint.
    pub fn firing(&self) -> BTreeMap<String, Labels> {
        self.groups
            .values()
            .flat_map(|g| g.alerts.values())
            .filter(|a| a.status == AlertStatus::Firing)
            .map(|a| (a.fingerprint.clone(), a.labels.clone()))
            .collect()
    }

    pub fn muted(&self, labels: &Labels, firing: &BTreeMap<String, Labels>, now: i64) -> bool {
        self.silences.iter().any(|s| s.mutes(labels, now))
            || self
                .rules
                .iter()
                .any(|r| firing.values().any(|source| r.inhibits(labels, source)))
    }

    /// Every group due at `now` ticks.
    pub fn tick(&mut self, now: i64) -> Vec<Out> {
        let firing = self.firing();
        let mut out = Vec::new();
        // Earliest due first, then by key.
        let mut due: Vec<(i64, String, (String, Labels))> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next_tick <= now)
            .map(|(k, g)| {
                (
                    g.next_tick,
                    GroupKey::new(&k.0, &k.1).to_string(),
                    k.clone(),
                )
            })
            .collect();
        due.sort();
        for (_, _, key) in due {
            let visible: Vec<Alert> = self.groups[&key]
                .alerts
                .values()
                .filter(|a| !self.muted(&a.labels, &firing, now))
                .cloned()
                .collect();
            let group = self.groups.get_mut(&key).unwrap();
            let (on, off): (Vec<Alert>, Vec<Alert>) = visible
                .into_iter()
                .partition(|a| a.status == AlertStatus::Firing);
            let fps = |v: &[Alert]| v.iter().map(|a| a.fingerprint.clone()).collect();
            let (on_set, off_set): (BTreeSet<String>, BTreeSet<String>) = (fps(&on), fps(&off));
            if !group.route.muted(now)
                && needs_update(
                    group.last.as_ref(),
                    &on_set,
                    &off_set,
                    now,
                    group.route.repeat,
                )
            {
                out.push(Out {
                    route_id: key.0.clone(),
                    receiver: group.route.receiver.clone(),
                    group_labels: key.1.clone(),
                    firing: on.len(),
                    resolved: off.len(),
                    alerts: on.into_iter().chain(off).collect(),
                });
                group.last = Some(Sent {
                    at: now,
                    firing: on_set,
                    resolved: off_set,
                });
            }
            // Resolved alerts leave after a tick, muted (in any way) or not.
            group.alerts.retain(|_, a| a.status == AlertStatus::Firing);
            group.ticked = true;
            group.next_tick = now + group.route.interval;
            if group.alerts.is_empty() {
                self.groups.remove(&key);
            }
        }
        out
    }
}

/// Alertmanager's dedup stage with every receiver sending resolved
/// notifications, the repeat counted inclusively. Nothing visible, nothing
/// sent.
fn needs_update(
    last: Option<&Sent>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
    now: i64,
    repeat: i64,
) -> bool {
    let Some(last) = last else {
        return !firing.is_empty();
    };
    if firing.is_empty() && resolved.is_empty() {
        return false;
    }
    if !firing.is_subset(&last.firing) {
        return true;
    }
    if firing.is_empty() {
        return !last.firing.is_empty();
    }
    !resolved.is_subset(&last.resolved) || last.at + repeat <= now
}
