//! The deliveries view's behaviour, and its reading of older states.

use super::*;
use crate::test_seal;
use vigil_store::{Actor, Notification, PlannedDelivery};

fn intent(id: &str, integrations: &[&str]) -> Event {
    Event::NotificationIntended(NotificationIntent {
        id: id.into(),
        receiver: "ops".into(),
        route: "0".into(),
        group_key: "0:{}".into(),
        group_labels: Default::default(),
        deliveries: integrations
            .iter()
            .enumerate()
            .map(|(i, name)| PlannedDelivery {
                delivery: format!("{id}-{i}"),
                integration: (*name).into(),
            })
            .collect(),
        alerts: Vec::new(),
        firing: 0,
        omitted: 3,
        cause: IntentCause::Test {
            actor: Actor::Daemon,
        },
    })
}

fn step(delivery: &str, state: DeliveryState, attempt: u32) -> Event {
    Event::Notification(Notification {
        delivery: delivery.into(),
        receiver: "ops".into(),
        integration: "webhook/0".into(),
        state,
        attempt,
        incidents: Vec::new(),
        detail: format!("{state:?}"),
    })
}

#[test]
fn each_integration_is_a_delivery_that_moves_on_its_own() {
    let mut v = DeliveriesView::default();
    v.apply(
        &test_seal(1, 10),
        Some(&intent("n1", &["webhook/0", "email/0"])),
    );
    assert_eq!(v.pending_len(), 2);
    v.apply(
        &test_seal(2, 11),
        Some(&step("n1-0", DeliveryState::Attempting, 1)),
    );
    v.apply(
        &test_seal(3, 12),
        Some(&step("n1-1", DeliveryState::Attempting, 1)),
    );
    v.apply(
        &test_seal(4, 13),
        Some(&step("n1-0", DeliveryState::Sent, 1)),
    );
    v.apply(
        &test_seal(5, 14),
        Some(&step("n1-1", DeliveryState::Failed, 1)),
    );
    let pending: Vec<_> = v.pending().map(|d| &*d.id).collect();
    assert_eq!(pending, ["n1-1"]);
    let failed = v.get("n1-1").unwrap();
    assert_eq!((failed.state, failed.attempts), (DeliveryState::Failed, 1));
    assert_eq!(failed.alerts, 3);
    assert_eq!(failed.cause, Cause::Test);
    assert_eq!(v.get("n1-0").unwrap().state, DeliveryState::Sent);
    assert_eq!(v.totals().sent, 1);
    assert_eq!(v.totals().failed_attempts, 1);
}

#[test]
fn a_sent_delivery_never_becomes_pending_again() {
    let mut v = DeliveriesView::default();
    v.apply(&test_seal(1, 10), Some(&intent("n1", &["webhook/0"])));
    v.apply(
        &test_seal(2, 11),
        Some(&step("n1-0", DeliveryState::Sent, 1)),
    );
    v.apply(
        &test_seal(3, 12),
        Some(&step("n1-0", DeliveryState::Failed, 2)),
    );
    v.apply(&test_seal(4, 13), Some(&intent("n1", &["webhook/0"])));
    assert_eq!(v.pending_len(), 0);
    assert_eq!(v.get("n1-0").unwrap().state, DeliveryState::Sent);
    assert_eq!(v.totals().intended, 1);
}

#[test]
fn pending_keeps_intent_order_and_finished_is_bounded() {
    let mut v = DeliveriesView::default();
    for seq in 1..=(KEEP_FINISHED as u64 + 5) {
        v.apply(
            &test_seal(seq, 0),
            Some(&intent(&format!("n{seq}"), &["w"])),
        );
    }
    let first: Vec<_> = v.pending().take(2).map(|d| d.intent_seq).collect();
    assert_eq!(first, [1, 2]);
    let base = KEEP_FINISHED as u64 + 10;
    for seq in 1..=(KEEP_FINISHED as u64 + 5) {
        let id = format!("n{seq}-0");
        v.apply(
            &test_seal(base + seq, 0),
            Some(&step(&id, DeliveryState::GivenUp, 1)),
        );
    }
    assert_eq!(v.pending_len(), 0);
    assert_eq!(v.finished().count(), KEEP_FINISHED);
    assert!(
        v.get("n1-0").is_none(),
        "the oldest finished one is forgotten"
    );
    assert_eq!(
        v.ids.len() + v.collided.len(),
        KEEP_FINISHED,
        "and its id with it"
    );
}

#[test]
fn names_are_shared_and_the_notification_comes_from_the_id() {
    let mut v = DeliveriesView::default();
    v.apply(&test_seal(1, 10), Some(&intent("n1", &["webhook/0"])));
    v.apply(&test_seal(2, 10), Some(&intent("n2", &["webhook/0"])));
    let (a, b) = (v.get("n1-0").unwrap(), v.get("n2-0").unwrap());
    assert!(Arc::ptr_eq(&a.receiver, &b.receiver));
    assert!(Arc::ptr_eq(&a.integration, &b.integration));
    assert_eq!((a.notification(), a.notification.is_none()), ("n1", true));
    // An id that does not say its notification keeps it.
    let mut odd = intent("n3", &["w"]);
    if let Event::NotificationIntended(i) = &mut odd {
        i.deliveries[0].delivery = "other".into();
    }
    v.apply(&test_seal(3, 10), Some(&odd));
    assert_eq!(v.get("other").unwrap().notification(), "n3");
}

#[test]
fn ids_whose_hashes_collide_stay_apart() {
    let mut v = DeliveriesView::default();
    v.apply(&test_seal(1, 10), Some(&intent("n1", &["w"])));
    // Pretend n2-0 hashes as n1-0 did: it lands in `collided`.
    v.hasher = RandomState::new();
    v.ids.clear();
    v.ids.insert(v.key("n2-0"), (1, 0));
    v.apply(&test_seal(2, 10), Some(&intent("n2", &["w"])));
    assert_eq!(v.collided.len(), 1);
    v.apply(
        &test_seal(3, 11),
        Some(&step("n2-0", DeliveryState::Sent, 1)),
    );
    assert_eq!(v.get("n2-0").unwrap().state, DeliveryState::Sent);
    assert_eq!(v.pending_len(), 1, "n1-0 untouched");
}

#[test]
fn a_version_2_checkpoint_state_reads_into_the_compact_shape() {
    let mut v = DeliveriesView::default();
    v.apply(
        &test_seal(1, 10),
        Some(&intent("n1", &["webhook/0", "slack/0"])),
    );
    v.apply(
        &test_seal(2, 11),
        Some(&step("n1-1", DeliveryState::GivenUp, 4)),
    );
    v.apply(
        &test_seal(3, 12),
        Some(&step("n1-0", DeliveryState::Failed, 1)),
    );
    let v2 = |d: &Delivery| old::V2Delivery {
        id: d.id.to_string(),
        notification: d.notification().to_string(),
        intent_seq: d.intent_seq,
        receiver: d.receiver.to_string(),
        integration: d.integration.to_string(),
        state: d.state,
        attempts: d.attempts,
        alerts: d.alerts,
        firing: d.firing,
        cause: d.cause,
        fallback_for: d.fallback_for.as_deref().map(str::to_string),
        created_at: d.created_at,
        updated_at: d.updated_at,
        detail: d.detail.to_string(),
    };
    let old = old::V2 {
        pending: v
            .pending()
            .map(|d| ((d.intent_seq, d.index), v2(d)))
            .collect(),
        slots: v
            .pending()
            .chain(v.finished())
            .map(|d| (d.id.to_string(), (d.intent_seq, d.index)))
            .collect(),
        finished: v.finished().map(v2).collect(),
        totals: v.totals(),
    };
    let state = postcard::to_allocvec(&old).unwrap();
    let mut migrated = DeliveriesView::migrate(2, &state).expect("version 2 reads");
    assert_eq!(migrated, v);
    assert_eq!(
        migrated.get("n1-1").unwrap().index,
        1,
        "its place, from the index"
    );
    // And it goes on: a late step for the given-up one changes nothing.
    migrated.apply(
        &test_seal(4, 13),
        Some(&step("n1-1", DeliveryState::Sent, 5)),
    );
    migrated.apply(
        &test_seal(5, 14),
        Some(&step("n1-0", DeliveryState::Sent, 2)),
    );
    assert_eq!(migrated.totals().sent, 1);
    assert_eq!(migrated.pending_len(), 0);
    assert!(DeliveriesView::migrate(3, &state).is_none());
}

#[test]
fn state_round_trips_through_a_snapshot() {
    let mut v = DeliveriesView::default();
    v.apply(
        &test_seal(1, 10),
        Some(&intent("n1", &["webhook/0", "slack/0"])),
    );
    v.apply(
        &test_seal(2, 11),
        Some(&step("n1-1", DeliveryState::GivenUp, 4)),
    );
    let bytes = postcard::to_allocvec(&v).unwrap();
    let mut back: DeliveriesView = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, v);
    // The index came back with it.
    back.apply(
        &test_seal(3, 12),
        Some(&step("n1-0", DeliveryState::Sent, 1)),
    );
    assert_eq!(back.pending_len(), 0);
    back.apply(
        &test_seal(4, 13),
        Some(&intent("n1", &["webhook/0", "slack/0"])),
    );
    assert_eq!(back.totals().intended, 2, "both ids still known");
}
