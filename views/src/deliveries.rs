//! The deliveries view: the durable outbox as the log tells it.
//!
//! A `NotificationIntended` entry plans one delivery per integration; each
//! `Notification` step moves one along (`attempting`, `sent`, `failed`,
//! `given_up`). Pending deliveries (intended, attempting, failed) are kept
//! in full, in the order they were intended, since after a restart they are
//! what the outbox resumes; finished ones are kept for listing, the newest
//! [`KEEP_FINISHED`]. A step for a delivery that already finished changes
//! nothing: once recorded `sent`, a delivery is never pending again.
//!
//! A dead receiver may leave a hundred thousand deliveries pending, so a
//! delivery is kept small: receiver and integration names shared, the
//! notification id read from the delivery's own, the id index holding a
//! hash and a slot rather than a copy of the id.

mod old;

use crate::View;
use crate::shared::{Hashed, intern, shared_str};
use crate::slab::Keyed;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::Arc;
use vigil_store::{DeliveryState, Event, IntentCause, NotificationIntent, Seal};

/// Finished deliveries kept for `vigilctl deliveries list`.
pub const KEEP_FINISHED: usize = 10_000;

/// One delivery: one notification to one integration of a receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Idempotency key (a webhook's `webhook-id`).
    pub id: Box<str>,
    /// The notification it belongs to, when it is not the id's part before
    /// its last `-` (as intents name their deliveries): see
    /// [`Delivery::notification`].
    pub notification: Option<Box<str>>,
    /// Seq of the intent entry, which holds what to send.
    pub intent_seq: u64,
    /// Its place among the intent's deliveries.
    pub index: u32,
    /// Receiver.
    #[serde(with = "shared_str")]
    pub receiver: Arc<str>,
    /// Integration (`webhook/0`).
    #[serde(with = "shared_str")]
    pub integration: Arc<str>,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made (started).
    pub attempts: u32,
    /// Alerts it carries, and how many of them fire.
    pub alerts: u32,
    /// Firing alerts among them.
    pub firing: u32,
    /// Why it was sent.
    pub cause: Cause,
    /// The delivery this one is the fallback of.
    pub fallback_for: Option<Box<str>>,
    /// When it was intended (entry time, micros).
    pub created_at: i64,
    /// When its last step was recorded.
    pub updated_at: i64,
    /// The last outcome's detail (status, error class); never a body.
    pub detail: Box<str>,
}

impl Delivery {
    /// The notification it belongs to.
    pub fn notification(&self) -> &str {
        match &self.notification {
            Some(n) => n,
            None => self.id.rsplit_once('-').map_or(&self.id, |(n, _)| n),
        }
    }

    /// Whether the outbox still owes an attempt.
    pub fn is_pending(&self) -> bool {
        is_pending(self.state)
    }
}

/// Whether a delivery in `state` is still owed an attempt.
pub fn is_pending(state: DeliveryState) -> bool {
    matches!(
        state,
        DeliveryState::Intended | DeliveryState::Attempting | DeliveryState::Failed
    )
}

/// Position of a pending delivery: intent seq, then index within it.
type Slot = (u64, u32);

/// Every pending delivery and the newest finished ones.
///
/// Serialized as its deliveries and totals; the id index and the shared
/// names are rebuilt on load.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "Stored")]
pub struct DeliveriesView {
    pending: Keyed<Slot, Delivery>,
    /// Hash of the id → slot, of every pending delivery and every finished
    /// one kept (a step for those changes nothing).
    ids: HashMap<u64, Slot, BuildHasherDefault<Hashed>>,
    /// Ids whose hash is another's in `ids`.
    collided: Vec<(Box<str>, Slot)>,
    hasher: RandomState,
    /// Receiver and integration names, once each.
    names: HashSet<Arc<str>>,
    finished: VecDeque<Delivery>,
    totals: Totals,
}

/// The index and names follow from the deliveries.
impl PartialEq for DeliveriesView {
    fn eq(&self, other: &DeliveriesView) -> bool {
        self.pending == other.pending
            && self.finished == other.finished
            && self.totals == other.totals
    }
}

/// The view as snapshots and checkpoints keep it (version 3).
#[derive(Serialize, Deserialize)]
struct Stored {
    pending: Vec<Delivery>,
    finished: VecDeque<Delivery>,
    totals: Totals,
}

impl Serialize for DeliveriesView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Written as `Stored` reads, without copying the deliveries.
        struct Pending<'a>(&'a Keyed<Slot, Delivery>);
        impl Serialize for Pending<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.values())
            }
        }
        let mut s = serializer.serialize_struct("Stored", 3)?;
        s.serialize_field("pending", &Pending(&self.pending))?;
        s.serialize_field("finished", &self.finished)?;
        s.serialize_field("totals", &self.totals)?;
        s.end()
    }
}

impl From<Stored> for DeliveriesView {
    fn from(stored: Stored) -> DeliveriesView {
        let mut view = DeliveriesView {
            totals: stored.totals,
            ..DeliveriesView::default()
        };
        for mut d in stored.finished {
            view.share_names(&mut d);
            view.index(&d.id, (d.intent_seq, d.index));
            view.finished.push_back(d);
        }
        for mut d in stored.pending {
            view.share_names(&mut d);
            let slot = (d.intent_seq, d.index);
            view.index(&d.id, slot);
            view.pending.insert(slot, d);
        }
        view
    }
}

/// Deliveries ever recorded, by final or current state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Planned.
    pub intended: u64,
    /// Recorded sent.
    pub sent: u64,
    /// Given up.
    pub given_up: u64,
    /// Failed attempts (each one).
    pub failed_attempts: u64,
}

impl View for DeliveriesView {
    const NAME: &'static str = "deliveries";
    // 2: `cause` is an enum. 3: compact (shared names, no stored index).
    const VERSION: u32 = 3;

    /// Version 2 kept strings and its index.
    fn migrate(version: u32, state: &[u8]) -> Option<Self> {
        (version == 2).then(|| old::v2(state)).flatten()
    }

    /// The intents of pending deliveries.
    fn pins(&self, out: &mut Vec<u64>) {
        out.extend(self.pending.keys().map(|slot| slot.0));
    }

    /// The steps of a pending delivery, and of the others of its intent
    /// (a dropped `sent` would make a delivery pending again), come after
    /// the oldest pending intent.
    fn holds(&self, out: &mut Vec<(vigil_store::EventKind, u64)>) {
        if let Some(seq) = self.oldest() {
            out.push((vigil_store::EventKind::Notify, seq));
        }
    }

    /// The notifier reads what to send from the intent entry.
    fn reads(&self, out: &mut Vec<u64>) {
        out.extend(self.oldest());
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        match event {
            Some(Event::NotificationIntended(intent)) => self.intend(seal, intent),
            Some(Event::Notification(step)) => {
                let Some(slot) = self.slot_of(&step.delivery) else {
                    return;
                };
                let Some(delivery) = self.pending.get_mut(&slot) else {
                    return;
                };
                delivery.state = step.state;
                delivery.updated_at = seal.time;
                if *delivery.detail != *step.detail {
                    delivery.detail = step.detail.as_str().into();
                }
                match step.state {
                    DeliveryState::Attempting => {
                        delivery.attempts = delivery.attempts.max(step.attempt);
                    }
                    DeliveryState::Failed => self.totals.failed_attempts += 1,
                    DeliveryState::Sent => self.totals.sent += 1,
                    DeliveryState::GivenUp => self.totals.given_up += 1,
                    DeliveryState::Intended => {}
                }
                if !delivery.is_pending() {
                    self.finish(slot);
                }
            }
            _ => {}
        }
    }
}

/// Why a notification was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cause {
    /// An aggregation group was due.
    Group,
    /// A test asked for by an operator.
    Test,
    /// Another receiver's delivery was given up.
    Fallback,
}

impl DeliveriesView {
    fn intend(&mut self, seal: &Seal, intent: &NotificationIntent) {
        let (cause, fallback_for) = match &intent.cause {
            IntentCause::Group => (Cause::Group, None),
            IntentCause::Test { .. } => (Cause::Test, None),
            IntentCause::Fallback { delivery } => (Cause::Fallback, Some(delivery.as_str())),
        };
        let receiver = intern(&mut self.names, &intent.receiver);
        let alerts = u32::try_from(intent.alerts.len())
            .unwrap_or(u32::MAX)
            .saturating_add(intent.omitted);
        for (index, planned) in intent.deliveries.iter().enumerate() {
            if self.slot_of(&planned.delivery).is_some() {
                continue;
            }
            let slot = (seal.seq, u32::try_from(index).unwrap_or(u32::MAX));
            self.index(&planned.delivery, slot);
            self.totals.intended += 1;
            let derived = planned.delivery.rsplit_once('-').map(|(n, _)| n);
            self.pending.insert(
                slot,
                Delivery {
                    id: planned.delivery.as_str().into(),
                    notification: (derived != Some(intent.id.as_str()))
                        .then(|| intent.id.as_str().into()),
                    intent_seq: seal.seq,
                    index: slot.1,
                    receiver: receiver.clone(),
                    integration: intern(&mut self.names, &planned.integration),
                    state: DeliveryState::Intended,
                    attempts: 0,
                    alerts,
                    firing: intent.firing,
                    cause,
                    fallback_for: fallback_for.map(Into::into),
                    created_at: seal.time,
                    updated_at: seal.time,
                    detail: Box::default(),
                },
            );
        }
    }

    fn finish(&mut self, slot: Slot) {
        let Some(delivery) = self.pending.remove(&slot) else {
            return;
        };
        // The id stays known (pointing at no pending slot) until it leaves
        // the finished list, so a late duplicate step is ignored.
        self.finished.push_back(delivery);
        while self.finished.len() > KEEP_FINISHED {
            if let Some(old) = self.finished.pop_front() {
                self.unindex(&old.id, (old.intent_seq, old.index));
            }
        }
    }

    fn key(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The slot of delivery `id`, pending or among the finished kept.
    fn slot_of(&self, id: &str) -> Option<Slot> {
        let is = |slot: &Slot| {
            let pending = self.pending.get(slot).map(|d| &*d.id == id);
            // Finished ones are few and a step for one is rare.
            pending.unwrap_or_else(|| {
                self.finished
                    .iter()
                    .any(|d| (d.intent_seq, d.index) == *slot && &*d.id == id)
            })
        };
        let slot = self.ids.get(&self.key(id)).copied();
        slot.filter(is).or_else(|| {
            let found = self.collided.iter().find(|(i, _)| **i == *id);
            found.map(|(_, slot)| *slot)
        })
    }

    fn index(&mut self, id: &str, slot: Slot) {
        match self.ids.entry(self.key(id)) {
            Entry::Vacant(place) => {
                place.insert(slot);
            }
            Entry::Occupied(_) => self.collided.push((id.into(), slot)),
        }
    }

    fn unindex(&mut self, id: &str, slot: Slot) {
        let key = self.key(id);
        if self.ids.get(&key) == Some(&slot) {
            self.ids.remove(&key);
        }
        self.collided.retain(|(_, s)| *s != slot);
    }

    fn share_names(&mut self, d: &mut Delivery) {
        d.receiver = intern(&mut self.names, &d.receiver);
        d.integration = intern(&mut self.names, &d.integration);
    }

    /// Pending deliveries, oldest intent first.
    pub fn pending(&self) -> impl DoubleEndedIterator<Item = &Delivery> {
        self.pending.values()
    }

    /// The oldest pending intent's seq.
    fn oldest(&self) -> Option<u64> {
        self.pending.keys().next().map(|slot| slot.0)
    }

    /// How many deliveries are pending.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Finished deliveries, oldest first (the newest [`KEEP_FINISHED`]).
    pub fn finished(&self) -> impl DoubleEndedIterator<Item = &Delivery> {
        self.finished.iter()
    }

    /// A delivery by id, pending or among the kept finished ones.
    #[cfg(test)]
    pub fn get(&self, id: &str) -> Option<&Delivery> {
        let slot = self.slot_of(id)?;
        self.pending
            .get(&slot)
            .or_else(|| self.finished.iter().rev().find(|d| &*d.id == id))
    }

    /// Totals since the log began (or the retention checkpoint).
    pub fn totals(&self) -> Totals {
        self.totals
    }
}

#[cfg(test)]
mod tests {
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
}
