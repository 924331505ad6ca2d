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
mod tests;
