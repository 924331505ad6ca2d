//! The deliveries view: the durable outbox as the log tells it.
//!
//! A `NotificationIntended` entry plans one delivery per integration; each
//! `Notification` step moves one along (`attempting`, `sent`, `failed`,
//! `given_up`). Pending deliveries (intended, attempting, failed) are kept
//! in full, in the order they were intended, since after a restart they are
//! what the outbox resumes; finished ones are kept for listing, the newest
//! [`KEEP_FINISHED`]. A step for a delivery that already finished changes
//! nothing: once recorded `sent`, a delivery is never pending again.

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use vigil_store::{DeliveryState, Event, IntentCause, NotificationIntent, Seal};

/// Finished deliveries kept for `vigilctl deliveries list`.
pub const KEEP_FINISHED: usize = 10_000;

/// One delivery: one notification to one integration of a receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Idempotency key (a webhook's `webhook-id`).
    pub id: String,
    /// The notification it belongs to.
    pub notification: String,
    /// Seq of the intent entry, which holds what to send.
    pub intent_seq: u64,
    /// Receiver.
    pub receiver: String,
    /// Integration (`webhook/0`).
    pub integration: String,
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
    pub fallback_for: Option<String>,
    /// When it was intended (entry time, micros).
    pub created_at: i64,
    /// When its last step was recorded.
    pub updated_at: i64,
    /// The last outcome's detail (status, error class); never a body.
    pub detail: String,
}

impl Delivery {
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveriesView {
    pending: BTreeMap<Slot, Delivery>,
    slots: HashMap<String, Slot>,
    finished: VecDeque<Delivery>,
    totals: Totals,
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
    // 2: `cause` is an enum.
    const VERSION: u32 = 2;

    /// The intents of pending deliveries.
    fn pins(&self, out: &mut Vec<u64>) {
        out.extend(self.pending.keys().map(|slot| slot.0));
    }

    /// The steps of a pending delivery, and of the others of its intent
    /// (a dropped `sent` would make a delivery pending again), come after
    /// the oldest pending intent.
    fn holds(&self, out: &mut Vec<(vigil_store::EventKind, u64)>) {
        if let Some(slot) = self.pending.keys().next() {
            out.push((vigil_store::EventKind::Notify, slot.0));
        }
    }

    /// The notifier reads what to send from the intent entry.
    fn reads(&self, out: &mut Vec<u64>) {
        out.extend(self.pending.keys().next().map(|slot| slot.0));
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        match event {
            Some(Event::NotificationIntended(intent)) => self.intend(seal, intent),
            Some(Event::Notification(step)) => {
                let Some(&slot) = self.slots.get(&step.delivery) else {
                    return;
                };
                let Some(delivery) = self.pending.get_mut(&slot) else {
                    return;
                };
                delivery.state = step.state;
                delivery.updated_at = seal.time;
                delivery.detail.clone_from(&step.detail);
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
            IntentCause::Fallback { delivery } => (Cause::Fallback, Some(delivery.clone())),
        };
        let alerts = u32::try_from(intent.alerts.len())
            .unwrap_or(u32::MAX)
            .saturating_add(intent.omitted);
        for (index, planned) in intent.deliveries.iter().enumerate() {
            if self.slots.contains_key(&planned.delivery) {
                continue;
            }
            let slot = (seal.seq, u32::try_from(index).unwrap_or(u32::MAX));
            self.slots.insert(planned.delivery.clone(), slot);
            self.totals.intended += 1;
            self.pending.insert(
                slot,
                Delivery {
                    id: planned.delivery.clone(),
                    notification: intent.id.clone(),
                    intent_seq: seal.seq,
                    receiver: intent.receiver.clone(),
                    integration: planned.integration.clone(),
                    state: DeliveryState::Intended,
                    attempts: 0,
                    alerts,
                    firing: intent.firing,
                    cause,
                    fallback_for: fallback_for.clone(),
                    created_at: seal.time,
                    updated_at: seal.time,
                    detail: String::new(),
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
                self.slots.remove(&old.id);
            }
        }
    }

    /// Pending deliveries, oldest intent first.
    pub fn pending(&self) -> impl DoubleEndedIterator<Item = &Delivery> {
        self.pending.values()
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
        let slot = self.slots.get(id)?;
        self.pending
            .get(slot)
            .or_else(|| self.finished.iter().rev().find(|d| d.id == id))
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
        let pending: Vec<_> = v.pending().map(|d| d.id.as_str()).collect();
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
        assert_eq!(v.slots.len(), KEEP_FINISHED, "and its id with it");
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
        let back: DeliveriesView = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, v);
    }
}
