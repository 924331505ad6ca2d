//! Aggregation group timing: `group_wait`, `group_interval` batching,
//! `repeat_interval`, resolution and removal, and `next_due`.

use jiff::Timestamp;

use super::{at, firing, resolved, tree};
use crate::route::dispatch::GroupsV1;
use crate::route::{Dispatcher, Flush, MatchedRoute, RouteTree};
use vigil_store::{Alert, AlertStatus};

/// One route, grouping by `alertname`, Alertmanager's default timers
/// (30s, 5m, 4h).
fn defaults() -> RouteTree {
    tree(r#"{"receiver": "a", "group_by": ["alertname"]}"#)
}

/// Routes `alert` through `t` into `d` at `now`.
fn observe(d: &mut Dispatcher, t: &RouteTree, alert: &Alert, now: Timestamp) {
    for route in t.matches(&alert.labels) {
        d.observe(&route, alert, now);
    }
}

fn fingerprints(f: &Flush) -> Vec<(&str, AlertStatus)> {
    f.alerts
        .iter()
        .map(|a| (a.labels.get("instance").unwrap_or_default(), a.status))
        .collect()
}

/// Runs every tick up to and including `until`, returning when each
/// flush happened (seconds after T0).
fn run(d: &mut Dispatcher, until: i64) -> Vec<(i64, Flush)> {
    let mut out = Vec::new();
    while let Some(next) = d.next_due() {
        if next > at(until) {
            break;
        }
        let secs = next.duration_since(at(0)).as_secs();
        out.extend(d.due(next).into_iter().map(|f| (secs, f)));
    }
    out
}

fn disk(instance: &str) -> Alert {
    firing(&[("alertname", "Disk"), ("instance", instance)])
}

#[test]
fn a_new_group_waits_group_wait_before_its_first_notification() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    assert_eq!(d.next_due(), Some(at(30)));
    assert!(d.due(at(29)).is_empty());
    let flushes = d.due(at(30));
    assert_eq!(flushes.len(), 1);
    let f = &flushes[0];
    assert_eq!(f.receiver, "a");
    assert_eq!(f.route_id, "0");
    assert_eq!(f.group_key.as_str(), "0:{alertname=\"Disk\"}");
    assert_eq!((f.firing, f.resolved), (1, 0));
    assert_eq!(fingerprints(f), [("h1", AlertStatus::Firing)]);
    // Nothing more until the next tick, group_interval later.
    assert!(d.due(at(30)).is_empty());
    assert_eq!(d.next_due(), Some(at(330)));
}

#[test]
fn an_alert_that_started_long_ago_skips_group_wait() {
    let t = defaults();
    let mut d = Dispatcher::new();
    let mut old = disk("h1");
    // Started 31 seconds before it reached us: it has waited enough.
    old.starts_at = Some(at(-31).as_microsecond());
    observe(&mut d, &t, &old, at(0));
    assert_eq!(d.next_due(), Some(at(0)));
    assert_eq!(d.due(at(0)).len(), 1);

    // Started 30 seconds ago exactly: Alertmanager waits (strictly older).
    let mut d = Dispatcher::new();
    let mut recent = disk("h1");
    recent.starts_at = Some(at(-30).as_microsecond());
    observe(&mut d, &t, &recent, at(0));
    assert_eq!(d.next_due(), Some(at(30)));
}

#[test]
fn alerts_arriving_between_ticks_are_batched_into_the_next_one() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    observe(&mut d, &t, &disk("h2"), at(10));
    let first = d.due(at(30));
    assert_eq!(fingerprints(&first[0]).len(), 2, "both wait for one tick");

    observe(&mut d, &t, &disk("h3"), at(40));
    observe(&mut d, &t, &disk("h4"), at(300));
    assert!(d.due(at(329)).is_empty(), "no notification before the tick");
    let second = d.due(at(330));
    assert_eq!(second.len(), 1);
    assert_eq!(
        fingerprints(&second[0]),
        [
            ("h1", AlertStatus::Firing),
            ("h2", AlertStatus::Firing),
            ("h3", AlertStatus::Firing),
            ("h4", AlertStatus::Firing)
        ]
    );
    assert_eq!(d.next_due(), Some(at(630)));
}

#[test]
fn an_unchanged_group_is_repeated_after_repeat_interval_and_not_before() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    // The same alert again changes nothing.
    observe(&mut d, &t, &disk("h1"), at(100));
    let times: Vec<i64> = run(&mut d, 30 + 8 * 3600).iter().map(|(s, _)| *s).collect();
    // First at 30s, then every 4h exactly (4h is a multiple of 5m).
    assert_eq!(times, [30, 30 + 4 * 3600, 30 + 8 * 3600]);
}

#[test]
fn a_repeat_waits_for_the_first_tick_after_repeat_interval() {
    let t = tree(
        r#"{"receiver": "a", "group_by": ["alertname"],
            "group_interval": "5m", "repeat_interval": "12m"}"#,
    );
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    let times: Vec<i64> = run(&mut d, 2000).iter().map(|(s, _)| *s).collect();
    // Ticks at 330, 630, 930, ...: 30 + 12m = 750 falls between two.
    assert_eq!(times, [30, 930, 1830]);
}

#[test]
fn a_resolution_is_notified_then_the_group_is_removed() {
    let t = defaults();
    let mut d = Dispatcher::new();
    let a = disk("h1");
    observe(&mut d, &t, &a, at(0));
    assert_eq!(d.due(at(30)).len(), 1);
    observe(&mut d, &t, &resolved(&a), at(100));
    assert!(d.due(at(329)).is_empty());
    let flushes = d.due(at(330));
    assert_eq!(flushes.len(), 1);
    assert_eq!((flushes[0].firing, flushes[0].resolved), (0, 1));
    assert_eq!(fingerprints(&flushes[0]), [("h1", AlertStatus::Resolved)]);
    assert!(d.is_empty());
    assert_eq!(d.next_due(), None);

    // Firing again later is a new group, with a new group_wait.
    observe(&mut d, &t, &a, at(1000));
    assert_eq!(d.next_due(), Some(at(1030)));
    assert_eq!(d.due(at(1030)).len(), 1);
}

#[test]
fn a_partial_resolution_is_notified_firing_first_and_the_resolved_alert_leaves() {
    let t = defaults();
    let mut d = Dispatcher::new();
    let (a, b) = (disk("h1"), disk("h2"));
    observe(&mut d, &t, &a, at(0));
    observe(&mut d, &t, &b, at(0));
    d.due(at(30));
    observe(&mut d, &t, &resolved(&a), at(60));
    let flushes = d.due(at(330));
    assert_eq!(
        fingerprints(&flushes[0]),
        [("h2", AlertStatus::Firing), ("h1", AlertStatus::Resolved)]
    );
    assert_eq!((flushes[0].firing, flushes[0].resolved), (1, 1));
    let key = flushes[0].group_key.clone();
    let left: Vec<String> = d
        .group_alerts(&key)
        .expect("group")
        .map(|a| a.labels["instance"].clone())
        .collect();
    assert_eq!(left, ["h2"]);
    assert!(d.due(at(630)).is_empty(), "nothing new at the next tick");
}

#[test]
fn an_alert_resolved_before_the_first_notification_is_never_sent() {
    let t = defaults();
    let mut d = Dispatcher::new();
    let a = disk("h1");
    observe(&mut d, &t, &a, at(0));
    observe(&mut d, &t, &resolved(&a), at(10));
    // The tick still happens, sends nothing and removes the group.
    assert_eq!(d.next_due(), Some(at(30)));
    assert!(d.due(at(30)).is_empty());
    assert!(d.is_empty());
}

#[test]
fn a_late_call_processes_the_tick_and_counts_the_interval_from_then() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    // The daemon was suspended: it asks long after the tick was due.
    assert_eq!(d.due(at(1000)).len(), 1);
    assert_eq!(d.next_due(), Some(at(1300)));
}

#[test]
fn next_due_is_the_earliest_tick_of_any_group() {
    let t = tree(
        r#"{"receiver": "a", "group_by": ["alertname"], "routes": [
            {"matchers": ["team=\"db\""], "group_wait": "10s", "group_interval": "1m"}
        ]}"#,
    );
    let mut d = Dispatcher::new();
    assert_eq!(d.next_due(), None);
    observe(&mut d, &t, &disk("h1"), at(0));
    assert_eq!(d.next_due(), Some(at(30)));
    let db = firing(&[("alertname", "Lag"), ("team", "db"), ("instance", "db1")]);
    observe(&mut d, &t, &db, at(5));
    assert_eq!(d.next_due(), Some(at(15)));
    assert_eq!(d.due(at(15)).len(), 1);
    assert_eq!(d.next_due(), Some(at(30)));
    assert_eq!(d.due(at(30)).len(), 1);
    // The db group ticks every minute: 75, then the other at 330.
    assert_eq!(d.next_due(), Some(at(75)));
    assert!(d.due(at(75)).is_empty());
    assert_eq!(d.next_due(), Some(at(135)));
    assert_eq!(d.len(), 2);
}

#[test]
fn different_group_labels_make_different_groups() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    observe(&mut d, &t, &disk("h2"), at(0));
    let cpu = firing(&[("alertname", "Cpu"), ("instance", "h1")]);
    observe(&mut d, &t, &cpu, at(0));
    assert_eq!(d.len(), 2);
    let flushes = d.due(at(30));
    let keys: Vec<&str> = flushes.iter().map(|f| f.group_key.as_str()).collect();
    assert_eq!(keys, ["0:{alertname=\"Cpu\"}", "0:{alertname=\"Disk\"}"]);
}

#[test]
fn an_alert_on_two_routes_through_continue_is_notified_on_both() {
    let t = tree(
        r#"{"receiver": "a", "group_by": ["alertname"], "routes": [
            {"matchers": ["team=\"db\""], "receiver": "b", "continue": true},
            {"matchers": ["severity=\"critical\""], "receiver": "c", "group_wait": "5s"}
        ]}"#,
    );
    let alert = firing(&[
        ("alertname", "Lag"),
        ("team", "db"),
        ("severity", "critical"),
        ("instance", "db1"),
    ]);
    let routes: Vec<MatchedRoute> = t.matches(&alert.labels);
    assert_eq!(routes.len(), 2);
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &alert, at(0));
    assert_eq!(d.len(), 2);
    let early = d.due(at(5));
    assert_eq!(
        early
            .iter()
            .map(|f| f.receiver.as_str())
            .collect::<Vec<_>>(),
        ["c"]
    );
    let later = d.due(at(30));
    assert_eq!(
        later
            .iter()
            .map(|f| f.receiver.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    assert_ne!(early[0].group_key, later[0].group_key);
    // One alert, held twice: an inhibition source once.
    assert_eq!(d.firing().count(), 1);
}

#[test]
fn the_state_survives_a_snapshot_and_restore() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    d.due(at(30));
    observe(&mut d, &t, &disk("h2"), at(40));
    let json = serde_json::to_string(&d).expect("serialize");
    let mut restored: Dispatcher = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(restored, d);
    assert_eq!(restored.next_due(), Some(at(330)));
    let flushes = restored.due(at(330));
    assert_eq!(flushes, d.due(at(330)));
    assert_eq!(flushes[0].firing, 2);
    // Not a repeat of h1 alone: the record of what was sent survived too.
    assert!(restored.due(at(630)).is_empty());
}

#[test]
fn a_recorded_notification_is_not_decided_again_after_a_restart() {
    let t = defaults();
    // Before the crash: h1 observed, notified at 30s (the intent is in
    // the log), but the dispatcher state saved predates the tick.
    let mut before = Dispatcher::new();
    observe(&mut before, &t, &disk("h1"), at(0));
    let saved = before.clone();
    let sent = before.due(at(30));
    assert_eq!(sent.len(), 1);

    // After: the saved state plus the replayed intent.
    let mut after = saved;
    let key = sent[0].group_key.clone();
    let fingerprints: Vec<String> = sent[0]
        .alerts
        .iter()
        .map(|a| a.fingerprint.to_string())
        .collect();
    after.record(&key, fingerprints.clone(), Vec::new(), at(30));
    assert!(after.due(at(31)).is_empty(), "nothing new to say");
    assert_eq!(after.next_due(), Some(at(330)));
    assert!(after.due(at(330)).is_empty(), "unchanged, repeat not due");

    // Without the record, the same group would be notified twice.
    let mut fresh = Dispatcher::new();
    observe(&mut fresh, &t, &disk("h1"), at(0));
    assert_eq!(fresh.due(at(31)).len(), 1);

    // An older record never overwrites a newer one, and unknown groups
    // are ignored.
    after.record(&key, Vec::new(), Vec::new(), at(10));
    assert_eq!(after.next_due(), Some(at(630)));
    assert!(
        after.due(at(630)).is_empty(),
        "h1 is still known as notified"
    );
    let unknown = crate::route::GroupKey::new("9", &Default::default());
    after.record(&unknown, fingerprints, Vec::new(), at(40));
    assert_eq!(after.len(), 1);
}

#[test]
fn a_forgotten_notification_is_decided_again_at_the_next_tick() {
    let t = defaults();
    let mut d = Dispatcher::new();
    observe(&mut d, &t, &disk("h1"), at(0));
    let sent = d.due(at(30));
    assert_eq!(sent.len(), 1);
    // The intent could not be recorded: forget that it was sent.
    d.forget_notified(&sent[0].group_key);
    let again = d.due(at(330));
    assert_eq!(again.len(), 1, "notified again rather than lost");
    assert_eq!(fingerprints(&again[0]), [("h1", AlertStatus::Firing)]);
    // Unknown groups are ignored.
    d.forget_notified(&crate::route::GroupKey::new("9", &Default::default()));
    assert_eq!(d.len(), 1);
}

/// The groups' shape before they were packed: what notifier snapshots
/// saved by earlier builds hold.
mod before_packing {
    use crate::route::MatchedRoute;
    use serde::{Deserialize, Serialize};
    use std::collections::{BTreeMap, BTreeSet};
    use vigil_store::{Alert, Labels};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    pub struct Groups {
        pub groups: BTreeMap<String, Group>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    pub struct Group {
        pub route: MatchedRoute,
        pub labels: Labels,
        pub alerts: BTreeMap<String, Alert>,
        pub next_tick: i64,
        pub ticked: bool,
        pub last: Option<Notified>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    pub struct Notified {
        pub at: i64,
        pub firing: BTreeSet<String>,
        pub resolved: BTreeSet<String>,
    }
}

#[test]
fn groups_saved_by_earlier_builds_still_load() {
    let d = sample_groups();
    // The first saved form, byte for byte the old shape.
    let v1 = d.encode_v1();
    let old: before_packing::Groups = postcard::from_bytes(&v1).expect("the old shape reads");
    assert_eq!(old.groups.len(), 2);
    let disk_group = old.groups.values().find(|g| g.alerts.len() == 2).unwrap();
    assert_eq!(disk_group.last.as_ref().unwrap().firing.len(), 1);
    assert_eq!(postcard::to_allocvec(&old).unwrap(), v1, "byte for byte");
    let back: Dispatcher = postcard::from_bytes::<GroupsV1>(&v1).unwrap().into();
    assert_eq!(back, d);
    assert_eq!(back.next_due(), d.next_due());
}

#[test]
fn groups_save_compactly_and_load_with_their_keys() {
    let d = sample_groups();
    let bytes = postcard::to_allocvec(&d).unwrap();
    let back: Dispatcher = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, d, "keys, labels and routes as they were");
    assert_eq!(back.next_due(), d.next_due());
    assert!(back.group_keys().eq(d.group_keys()));
    // One alert per group, grouped by every label: the compact form
    // leaves out the key, the route and the labels of each group.
    let t = tree(r#"{"receiver": "a", "group_by": ["..."]}"#);
    let mut many = Dispatcher::new();
    for i in 0..100 {
        observe(
            &mut many,
            &t,
            &firing(&[("alertname", "Cpu"), ("i", &i.to_string())]),
            at(0),
        );
    }
    let (compact, v1) = (postcard::to_allocvec(&many).unwrap(), many.encode_v1());
    assert!(
        compact.len() * 2 < v1.len(),
        "{} against {}",
        compact.len(),
        v1.len()
    );
    assert_eq!(postcard::from_bytes::<Dispatcher>(&compact).unwrap(), many);
}

#[test]
fn a_group_saved_twice_loads_once_as_its_later_copy() {
    let d = sample_groups();
    let later = 3_600_000_000;
    let back: Dispatcher = postcard::from_bytes(&d.encode_twice(later)).unwrap();
    assert_eq!(back.len(), d.len(), "one group a key");
    assert!(back.group_keys().eq(d.group_keys()));
    // The later copies' ticks, each group scheduled once.
    let due = |at: i64| Timestamp::from_microsecond(at).unwrap();
    let first = d.next_due().unwrap().as_microsecond();
    assert_eq!(back.next_due(), Some(due(first + later)));
    let mut again = back.clone();
    assert!(again.due(due(first + later - 1)).is_empty());
    let ticked = again.due(due(first + 100 * later));
    let mut expected = d.clone();
    assert_eq!(
        ticked,
        expected.due(due(first + 100 * later)),
        "each group once"
    );
}

/// Groups of every kind: notified, with a resolved alert, past a small
/// group's bound, with labels that are not their first alert's.
fn sample_groups() -> Dispatcher {
    let t = defaults();
    let mut d = Dispatcher::new();
    let mut noted = disk("h1");
    noted.annotations = [("runbook".to_string(), "r".to_string())].into();
    noted.links = vec!["http://prometheus/graph".into()];
    observe(&mut d, &t, &noted, at(0));
    d.due(at(30));
    observe(&mut d, &t, &disk("h2"), at(40));
    observe(&mut d, &t, &resolved(&noted), at(50));
    for i in 0..20 {
        observe(
            &mut d,
            &t,
            &firing(&[("alertname", "Cpu"), ("i", &i.to_string())]),
            at(60),
        );
    }
    d
}
