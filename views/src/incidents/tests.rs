//! The incident view's behaviour, and its reading of older states.

use super::old::{V2, V2Incident, V3, V3Incident};
use super::*;
use std::collections::BTreeMap;
use vigil_store::{AlertsIngested, IncidentAction, Labels};

use crate::test_seal as seal;

fn at<'a>(v: &'a IncidentView, id: &str) -> &'a Incident {
    v.get(id).unwrap_or_else(|| panic!("no incident {id}"))
}

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
    assert_eq!(
        v.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(),
        ["10", "10.1"]
    );
    v.apply(
        &seal(11, 2),
        Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
    );
    assert_eq!(at(&v, "10").fired, 2);
    v.apply(
        &seal(12, 3),
        Some(&ingest(vec![alert("a", AlertStatus::Resolved)])),
    );
    assert_eq!(at(&v, "10").state, IncidentState::Resolved);
    v.apply(
        &seal(13, 4),
        Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
    );
    let a = &at(&v, "10");
    assert_eq!((a.state, a.reopened), (IncidentState::Open, 1));
    assert_eq!(a.history.iter().collect::<Vec<_>>(), [10, 11, 12, 13]);
    assert!(!a.flapping);
    // A resolution for something never seen opens nothing.
    v.apply(
        &seal(14, 5),
        Some(&ingest(vec![alert("z", AlertStatus::Resolved)])),
    );
    assert_eq!(v.len(), 2);
    let open = v.iter().filter(|i| i.state == IncidentState::Open);
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
    assert_eq!(found.map(|i| i.id.to_string()), Some("11".to_string()));
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
    assert_eq!(
        (found.id.to_string(), &*found.source),
        ("10".to_string(), "am")
    );
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
    assert!(at(&v, "2").flapping);
    step(&mut v, AlertStatus::Resolved, 2 * FLAP_WINDOW);
    assert!(!at(&v, "2").flapping);
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
    assert_eq!(at(&v, "5").state, IncidentState::Acked);
    v.apply(
        &seal(7, 3),
        Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
    );
    assert_eq!(at(&v, "5").state, IncidentState::Acked);
    v.apply(&seal(8, 4), Some(&act(IncidentOp::Resolve, None)));
    let inc = &at(&v, "5");
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
    let due: Vec<&str> = v.expired(100).map(|i| &*i.fingerprint).collect();
    assert_eq!(due, ["a"], "ends at or before now; c has no end");
    // A resend moves a's end: it is no longer due.
    v.apply(&seal(3, 50), Some(&ingest(vec![ending("a", 400)])));
    assert_eq!(v.expired(100).count(), 0);
    assert_eq!(v.next_expiry(), Some(300));
    // An expiry decided before the resend (it saw end 100) is stale.
    v.apply(&seal(4, 101), Some(&expiry("a", 100)));
    assert_eq!(at(&v, "1").state, IncidentState::Open);
    // One that saw the current end resolves it, and it leaves the index.
    v.apply(&seal(5, 401), Some(&expiry("a", 400)));
    assert_eq!(at(&v, "1").state, IncidentState::Resolved);
    assert_eq!(at(&v, "1").expires_at.get(), None);
    assert_eq!(v.expired(i64::MAX).count(), 1, "only b");
    // An expiry never opens an incident nor reopens a resolved one.
    v.apply(&seal(6, 402), Some(&expiry("a", 400)));
    v.apply(&seal(7, 403), Some(&expiry("zz", 400)));
    assert_eq!(at(&v, "1").state, IncidentState::Resolved);
    assert_eq!(v.len(), 3);
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

/// `v` as version 3 wrote it (with `history` and `flips` in full: the
/// old shape kept up to 200 seqs).
fn as_v3(v: &IncidentView, history: &[u64]) -> V3 {
    let incidents: BTreeMap<String, V3Incident> = v
        .iter()
        .map(|i| {
            let old = V3Incident {
                id: i.id.to_string(),
                source: i.source.to_string(),
                fingerprint: i.fingerprint.to_string(),
                state: i.state,
                severity: i.severity,
                summary: i.summary.to_string(),
                labels: i.labels.to_labels(),
                opened_at: i.opened_at,
                updated_at: i.updated_at,
                resolved_at: i.resolved_at.get(),
                fired: u64::from(i.fired),
                reopened: u64::from(i.reopened),
                flips: i.flips.iter().collect(),
                flapping: i.flapping,
                history: if history.is_empty() {
                    i.history.iter().collect()
                } else {
                    history.iter().copied().collect()
                },
                annotations: i.annotations.to_vec(),
                expires_at: i.expires_at.get(),
            };
            (old.id.clone(), old)
        })
        .collect();
    V3 {
        by_fingerprint: incidents
            .values()
            .map(|i| ((i.source.clone(), i.fingerprint.clone()), i.id.clone()))
            .collect(),
        expiries: incidents
            .values()
            .filter_map(|i| Some((i.expires_at?, i.id.clone())))
            .collect(),
        resolved_order: v.resolved_order.iter().map(|id| id.to_string()).collect(),
        incidents,
    }
}

/// Several incidents: with labels, an end, resolved, acked, two sources.
fn sample() -> IncidentView {
    let mut v = IncidentView::default();
    let labelled = Alert {
        labels: Labels::from([("job".to_string(), "node".to_string())]),
        ..alert("a", AlertStatus::Firing)
    };
    v.apply(
        &seal(1, 1),
        Some(&ingest(vec![
            labelled,
            ending("b", 300),
            alert("c", AlertStatus::Firing),
        ])),
    );
    v.apply(
        &seal(2, 2),
        Some(&ingest(vec![alert("c", AlertStatus::Resolved)])),
    );
    v.apply(
        &seal(3, 3),
        Some(&Event::IncidentAction(IncidentAction {
            incident: "1".into(),
            op: IncidentOp::Ack,
            note: Some("mine".into()),
            actor: Actor::Daemon,
        })),
    );
    let mut other = ingest(vec![alert("a", AlertStatus::Firing)]);
    if let Event::AlertsIngested(a) = &mut other {
        a.source = "grafana".into();
    }
    v.apply(&seal(4, 4), Some(&other));
    v
}

#[test]
fn a_version_3_checkpoint_state_reads_into_the_compact_shape() {
    let current = sample();
    let state = postcard::to_allocvec(&as_v3(&current, &[])).unwrap();
    let mut migrated = IncidentView::migrate(3, &state).expect("version 3 reads");
    assert_eq!(migrated, current);
    assert_eq!(at(&migrated, "1.1").expires_at.get(), Some(300));
    assert_eq!(
        migrated.next_expiry(),
        Some(300),
        "the ends are indexed again"
    );
    assert_eq!(at(&migrated, "1").labels.get("job"), Some("node"));
    // And it goes on: the same alerts find the same incidents.
    migrated.apply(
        &seal(5, 5),
        Some(&ingest(vec![alert("a", AlertStatus::Resolved)])),
    );
    migrated.apply(
        &seal(6, 6),
        Some(&ingest(vec![alert("c", AlertStatus::Firing)])),
    );
    assert_eq!(at(&migrated, "1").state, IncidentState::Resolved);
    assert_eq!(
        at(&migrated, "4").state,
        IncidentState::Open,
        "grafana's a is its own"
    );
    let c = at(&migrated, "1.2");
    assert_eq!((c.state, c.reopened), (IncidentState::Open, 1));
    assert_eq!(migrated.len(), 4);
    assert!(IncidentView::migrate(4, &state).is_none());
}

#[test]
fn a_long_version_3_history_keeps_its_newest_seqs() {
    let mut v = IncidentView::default();
    v.apply(
        &seal(1, 1),
        Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
    );
    let long: Vec<u64> = (1..=200).collect();
    let state = postcard::to_allocvec(&as_v3(&v, &long)).unwrap();
    let migrated = IncidentView::migrate(3, &state).unwrap();
    let kept: Vec<u64> = at(&migrated, "1").history.iter().collect();
    assert_eq!(kept, (151..=200).collect::<Vec<_>>());
}

#[test]
fn a_version_2_checkpoint_state_reads_with_no_ends() {
    let current = sample();
    let v3 = as_v3(&current, &[]);
    let old = V2 {
        by_fingerprint: v3.by_fingerprint,
        resolved_order: v3.resolved_order,
        incidents: v3
            .incidents
            .into_iter()
            .map(|(id, i)| {
                let i = V2Incident {
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
                };
                (id, i)
            })
            .collect(),
    };
    let state = postcard::to_allocvec(&old).unwrap();
    let migrated = IncidentView::migrate(2, &state).expect("version 2 reads");
    assert_eq!(migrated.next_expiry(), None);
    assert_eq!(at(&migrated, "1.1").expires_at.get(), None);
    let mut expected = current;
    expected
        .incidents
        .values_mut()
        .for_each(|i| i.expires_at = MaybeTime::NONE);
    assert_eq!(migrated, expected, "the same view, with no ends");
}

#[test]
fn state_round_trips_and_rebuilds_its_indexes() {
    let v = sample();
    let bytes = postcard::to_allocvec(&v).unwrap();
    let mut back: IncidentView = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, v);
    assert_eq!(back.next_expiry(), Some(300));
    let a: Vec<&Incident> = back.iter().filter(|i| &*i.fingerprint == "a").collect();
    assert_eq!(a.len(), 2);
    assert!(a[0].source != a[1].source);
    // One copy of each source.
    let am: Vec<&Arc<str>> = back
        .iter()
        .filter(|i| &*i.source == "am")
        .map(|i| &i.source)
        .collect();
    assert!(am.windows(2).all(|w| Arc::ptr_eq(w[0], w[1])));
    back.apply(
        &seal(5, 5),
        Some(&ingest(vec![alert("b", AlertStatus::Firing)])),
    );
    assert_eq!(at(&back, "1.1").fired, 2, "found by (source, fingerprint)");
    assert_eq!(back.next_expiry(), None, "that copy has no end");
}

#[test]
fn the_history_keeps_the_newest_occurrences() {
    let mut v = IncidentView::default();
    for seq in 1..=(HISTORY as u64 + 10) {
        v.apply(
            &seal(seq, seq as i64),
            Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
        );
    }
    let a = at(&v, "1");
    assert_eq!(u64::from(a.fired), HISTORY as u64 + 10);
    let seqs: Vec<u64> = a.history.iter().collect();
    assert_eq!(seqs, (11..=HISTORY as u64 + 10).collect::<Vec<_>>());
    let mut pins = Vec::new();
    v.pins(&mut pins);
    assert_eq!(
        pins[0], 1,
        "the opening event stays pinned: the id is its seq"
    );
    assert_eq!(pins.len(), HISTORY + 1);
}

#[test]
fn forgotten_incidents_leave_every_index() {
    let mut v = IncidentView::default();
    let total = MAX_RESOLVED as u64 + 3;
    for seq in 1..=total {
        let fp = format!("f{seq}");
        v.apply(&seal(2 * seq, 0), Some(&ingest(vec![ending(&fp, 100)])));
        v.apply(
            &seal(2 * seq + 1, 0),
            Some(&ingest(vec![alert(&fp, AlertStatus::Resolved)])),
        );
    }
    assert_eq!(v.len(), MAX_RESOLVED);
    assert!(v.get("2").is_none(), "the oldest went");
    assert_eq!(v.by_key.len() + v.collided.len(), MAX_RESOLVED);
    assert!(v.expiries.is_empty());
    assert_indexed(&v);
    // A fingerprint whose incident was forgotten opens a new one.
    v.apply(
        &seal(10 * total, 0),
        Some(&ingest(vec![alert("f1", AlertStatus::Firing)])),
    );
    assert_eq!(at(&v, &(10 * total).to_string()).fired, 1);
}

#[test]
fn incidents_whose_keys_hash_alike_stay_apart() {
    let mut v = IncidentView::default();
    v.apply(
        &seal(1, 1),
        Some(&ingest(vec![alert("a", AlertStatus::Firing)])),
    );
    // Pretend "b" hashes as "a" did: it lands in `collided`.
    let b = alert("b", AlertStatus::Firing);
    v.hasher = RandomState::new();
    v.by_key.clear();
    v.by_key.insert(v.key("am", "b"), IncidentId::new(1, 0));
    v.apply(&seal(2, 2), Some(&ingest(vec![b.clone()])));
    assert_eq!(v.collided, [IncidentId::new(2, 0)]);
    v.apply(&seal(3, 3), Some(&ingest(vec![b])));
    assert_eq!(at(&v, "2").fired, 2, "found among the collided");
}

/// The listing index and the counts agree with the incidents.
fn assert_indexed(v: &IncidentView) {
    let mut all: Vec<&Incident> = v.iter().collect();
    all.sort_by_key(|i| (std::cmp::Reverse(i.updated_at), i.id));
    let listed: Vec<IncidentId> = v.newest_first(None).map(|i| i.id).collect();
    assert_eq!(listed, all.iter().map(|i| i.id).collect::<Vec<_>>());
    for state in [
        IncidentState::Open,
        IncidentState::Acked,
        IncidentState::Resolved,
    ] {
        let n = v.iter().filter(|i| i.state == state).count();
        assert_eq!(v.count(Some(state)), n, "{state:?}");
    }
    assert_eq!(v.count(None), v.len());
}

#[test]
fn listings_read_newest_change_first_from_a_cursor() {
    let mut v = sample();
    assert_indexed(&v);
    let order: Vec<String> = v.newest_first(None).map(|i| i.id.to_string()).collect();
    // 4 (grafana's a) changed last, then the ack on 1, then 1.2's resolve.
    assert_eq!(order, ["4", "1", "1.2", "1.1"]);
    let after_1 = v.newest_first(Some((3, IncidentId::new(1, 0))));
    assert_eq!(
        after_1.map(|i| i.id.to_string()).collect::<Vec<_>>(),
        ["1.2", "1.1"]
    );
    assert_eq!(v.count(Some(IncidentState::Acked)), 1);
    v.apply(
        &seal(5, 5),
        Some(&ingest(vec![alert("b", AlertStatus::Resolved)])),
    );
    assert_indexed(&v);
    assert_eq!(v.newest_first(None).next().unwrap().id, "1.1");
    let back: IncidentView = postcard::from_bytes(&postcard::to_allocvec(&v).unwrap()).unwrap();
    assert_indexed(&back);
    let state = postcard::to_allocvec(&as_v3(&v, &[])).unwrap();
    assert_indexed(&IncidentView::migrate(3, &state).unwrap());
}

#[test]
fn an_incident_stays_small() {
    // Every byte here is half a megabyte with 500,000 incidents open.
    let size = std::mem::size_of::<Incident>();
    assert!(size <= 176, "{size} bytes");
}
