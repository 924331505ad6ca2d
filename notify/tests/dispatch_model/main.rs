//! The dispatcher (route tree, aggregation groups and their timers,
//! silences, inhibit rules, time intervals) against a reference model:
//! random label sets, route trees, inhibit rules, silences and sequences
//! of alerts firing, resolving and expiring, time passing and restarts go
//! through both, and every notification, every group and the next tick
//! must agree.
//!
//! The model ([`model`]) is the specification. Regex matchers are drawn
//! from a few shapes it can decide without a regex engine
//! ([`strategies`]).

#![allow(missing_docs, clippy::unwrap_used)]

mod model;
mod strategies;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::{Model, Out, Route, Settings, Silenced, routes_for, texts};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use strategies::{Case, Step, case};
use vigil_notify::route::{
    Dispatcher, Flush, Gate, GroupBy, GroupKey, InhibitRuleConfig, Matchers, Policy, PolicyConfig,
    RouteConfig, Silence, TimeIntervalConfig, TimePeriodConfig, TimeRangeConfig,
};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

const NAMES: [&str; 4] = ["alertname", "env", "team", "sev"];
/// Named time intervals, as minutes of the (UTC) day; every case's clock
/// starts at 10:00 and runs for at most a few hours.
const INTERVALS: [(&str, [(i64, i64); 2]); 2] = [
    ("early", [(601, 606), (640, 700)]),
    ("late", [(620, 650), (700, 760)]),
];
const RECEIVERS: [&str; 3] = ["r0", "r1", "r2"];
const SECOND: i64 = 1_000_000;

fn route_config(route: &Route) -> RouteConfig {
    let secs = |s: Option<i64>| s.map(|s| format!("{s}s"));
    RouteConfig {
        receiver: route.receiver.map(str::to_string),
        group_by: route
            .group_by
            .as_ref()
            .map(|by| by.iter().map(|n| n.to_string()).collect()),
        matchers: texts(&route.matchers),
        continue_matching: route.continues,
        group_wait: secs(route.wait),
        group_interval: secs(route.interval),
        repeat_interval: secs(route.repeat),
        mute_time_intervals: route.mute.iter().map(|n| n.to_string()).collect(),
        active_time_intervals: route.active.iter().map(|n| n.to_string()).collect(),
        routes: route.routes.iter().map(route_config).collect(),
        ..RouteConfig::default()
    }
}

fn policy(case: &Case) -> Policy {
    let config = PolicyConfig {
        route: route_config(&case.tree),
        inhibit_rules: case
            .rules
            .iter()
            .map(|r| InhibitRuleConfig {
                source_matchers: texts(&r.source),
                target_matchers: texts(&r.target),
                equal: r.equal.iter().map(|n| n.to_string()).collect(),
                ..InhibitRuleConfig::default()
            })
            .collect(),
        time_intervals: INTERVALS
            .iter()
            .map(|(name, ranges)| TimeIntervalConfig {
                name: name.to_string(),
                time_intervals: vec![TimePeriodConfig {
                    times: ranges
                        .iter()
                        .map(|&(from, to)| TimeRangeConfig {
                            start_time: format!("{:02}:{:02}", from / 60, from % 60),
                            end_time: format!("{:02}:{:02}", to / 60, to % 60),
                        })
                        .collect(),
                    ..TimePeriodConfig::default()
                }],
            })
            .collect(),
    };
    Policy::compile(&config, &RECEIVERS).expect("a generated policy compiles")
}

/// Where every case's clock starts: Monday 2 March 2026, 10:00 UTC.
fn origin() -> i64 {
    let t: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
    t.as_microsecond()
}

/// Unix micros as an instant (the model keeps every time as micros).
fn instant(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap()
}

fn alert(pool: &[Labels], i: usize, status: AlertStatus) -> Alert {
    Alert {
        fingerprint: format!("a{i:02}"),
        status,
        severity: Severity::Warning,
        summary: String::new(),
        labels: pool[i].clone(),
        annotations: Labels::new(),
        starts_at: None,
        ends_at: None,
        links: Vec::new(),
    }
}

fn out(flush: Flush) -> Out {
    let alerts = flush.unpacked();
    Out {
        route_id: flush.route_id,
        receiver: flush.receiver,
        group_labels: flush.group_labels,
        alerts,
        firing: flush.firing,
        resolved: flush.resolved,
    }
}

/// One tick on both sides: the same notifications.
fn tick(
    real: &mut Dispatcher,
    model: &mut Model,
    policy: &Policy,
    silences: &[Silence],
    now: i64,
) -> Result<(), TestCaseError> {
    let flushes = real.due_gated(instant(now), &policy.gate(silences));
    for f in &flushes {
        prop_assert_eq!(&f.group_key, &GroupKey::new(&f.route_id, &f.group_labels));
    }
    let got: Vec<Out> = flushes.into_iter().map(out).collect();
    let want = model.tick(now);
    prop_assert_eq!(got, want, "notifications at {}s", (now - origin()) / SECOND);
    Ok(())
}

/// The groups, their alerts and the next tick agree.
fn same_state(real: &Dispatcher, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        real.next_due().map(|t| t.as_microsecond()),
        model.next_due()
    );
    let got: BTreeMap<String, (String, Labels, Vec<Alert>)> = real
        .group_keys()
        .zip(real.groups())
        .map(|(k, g)| {
            let state = (g.receiver.to_string(), g.labels.to_labels(), g.alerts);
            (k.to_string(), state)
        })
        .collect();
    let want: BTreeMap<String, (String, Labels, Vec<Alert>)> = model
        .groups
        .iter()
        .map(|((route, labels), g)| {
            let key = GroupKey::new(route, labels).to_string();
            let alerts = g.alerts.values().cloned().collect();
            (key, (g.route.receiver.clone(), labels.clone(), alerts))
        })
        .collect();
    prop_assert_eq!(got, want);
    let firing: BTreeSet<String> = real.firing().map(|a| a.fingerprint).collect();
    let model_firing: BTreeSet<String> = model.firing().into_keys().collect();
    prop_assert_eq!(firing, model_firing);
    Ok(())
}

/// Whether each alert of the pool (as firing) would be muted now: the
/// gate's decision alone, for a failure that names it.
fn same_muting(
    case: &Case,
    real: &Dispatcher,
    model: &Model,
    policy: &Policy,
    silences: &[Silence],
    now: i64,
) -> Result<(), TestCaseError> {
    let gate = policy.gate(silences);
    let firing: Vec<Labels> = real.firing().map(|a| a.labels).collect();
    let firing: Vec<&Labels> = firing.iter().collect();
    let model_firing = model.firing();
    for i in 0..case.pool.len() {
        let a = alert(&case.pool, i, AlertStatus::Firing);
        prop_assert_eq!(
            gate.alert_muted(&a, &firing, instant(now)),
            model.muted(&a.labels, &model_firing, now),
            "muting of {:?} at {}s",
            a.labels,
            (now - origin()) / SECOND
        );
    }
    Ok(())
}

fn run(case: Case) -> Result<(), TestCaseError> {
    let policy = policy(&case);
    // Routing first: every alert of the pool takes the same routes.
    for labels in &case.pool {
        let got: Vec<Settings> = policy
            .route(labels)
            .into_iter()
            .map(|r| Settings {
                id: r.route_id,
                receiver: r.receiver,
                group_by: match r.group_by {
                    GroupBy::All => None,
                    GroupBy::Labels(by) => Some(by.into_iter().collect()),
                },
                wait: micros(r.timings.group_wait),
                interval: micros(r.timings.group_interval),
                repeat: micros(r.timings.repeat_interval),
                mute: r.mute_time_intervals,
                active: r.active_time_intervals,
            })
            .collect();
        prop_assert_eq!(
            got,
            routes_for(&case.tree, labels),
            "routes of {:?}",
            labels
        );
    }

    let mut model = Model {
        tree: case.tree.clone(),
        rules: case.rules.clone(),
        silences: Vec::new(),
        groups: BTreeMap::new(),
    };
    let mut real = Dispatcher::new();
    let mut silences: Vec<Silence> = Vec::new();
    let mut now = origin();
    for step in &case.steps {
        match step {
            Step::Fire {
                alert: i,
                started,
                ends_in,
            } => {
                let mut a = alert(&case.pool, i.index(case.pool.len()), AlertStatus::Firing);
                a.starts_at = started.map(|s| now - s * SECOND);
                a.ends_at = ends_in.map(|s| now + s * SECOND);
                for route in policy.route(&a.labels) {
                    real.observe(&route, &a, instant(now));
                }
                model.observe(&a, now);
            }
            Step::Resolve { alert: i } => {
                let mut a = alert(&case.pool, i.index(case.pool.len()), AlertStatus::Resolved);
                a.ends_at = Some(now);
                for route in policy.route(&a.labels) {
                    real.observe(&route, &a, instant(now));
                }
                model.observe(&a, now);
            }
            Step::Expire { alert: i } => {
                let mut a = alert(&case.pool, i.index(case.pool.len()), AlertStatus::Resolved);
                a.ends_at = Some(now);
                let expired = real.expire(&a);
                prop_assert_eq!(expired, model.expire(&a.fingerprint, now));
            }
            Step::Advance { secs, punctual } => {
                let target = now + secs * SECOND;
                // The gate alone at each silence's edges on the way, where
                // ticks seldom fall.
                for s in &model.silences {
                    for edge in [s.start - 1, s.start, s.end - 1, s.end] {
                        if now < edge && edge <= target {
                            same_muting(&case, &real, &model, &policy, &silences, edge)?;
                        }
                    }
                }
                if *punctual {
                    while let Some(due) = real.next_due().map(|t| t.as_microsecond()) {
                        if due > target {
                            break;
                        }
                        prop_assert_eq!(Some(due), model.next_due());
                        same_muting(&case, &real, &model, &policy, &silences, due)?;
                        tick(&mut real, &mut model, &policy, &silences, due)?;
                    }
                } else {
                    same_muting(&case, &real, &model, &policy, &silences, target)?;
                    tick(&mut real, &mut model, &policy, &silences, target)?;
                }
                now = target;
            }
            Step::Silence {
                matchers,
                from,
                len,
            } => {
                let s = Silenced {
                    matchers: matchers.clone(),
                    start: now + from * SECOND,
                    end: now + (from + len) * SECOND,
                };
                let made = Silence::new(
                    format!("s{}", silences.len()),
                    Matchers::parse_all(texts(matchers)).unwrap(),
                    instant(s.start),
                    instant(s.end),
                    "",
                    "",
                );
                prop_assert_eq!(made.is_ok(), s.valid(), "silence {:?}", texts(matchers));
                if let Ok(made) = made {
                    silences.push(made);
                    model.silences.push(s);
                }
            }
            Step::EndSilence { which } => {
                if !silences.is_empty() {
                    let i = which.index(silences.len());
                    let s = &mut model.silences[i];
                    // Ended now, unless it already had.
                    s.end = s.end.min(now);
                    s.start = s.start.min(s.end);
                    let old = &silences[i];
                    silences[i] = Silence::new(
                        old.id(),
                        old.matchers().clone(),
                        instant(s.start),
                        instant(s.end),
                        "",
                        "",
                    )
                    .unwrap();
                }
            }
            Step::Restart => {
                let saved = postcard::to_allocvec(&real).unwrap();
                real = postcard::from_bytes(&saved).unwrap();
            }
        }
        same_state(&real, &model)?;
    }
    Ok(())
}

fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Beside this file: a failure found is replayed first next time.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_dispatcher_does_what_the_model_says(case in case()) {
        run(case)?;
    }
}
