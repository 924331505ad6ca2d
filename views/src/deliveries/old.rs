//! The view's shape at version 2, as retention checkpoints may carry it,
//! and its reading into the current one.

use super::{Cause, DeliveriesView, Delivery, Slot, Stored, Totals};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use vigil_store::DeliveryState;

/// Version 2: strings, and the id index stored.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct V2 {
    pub pending: BTreeMap<Slot, V2Delivery>,
    pub slots: HashMap<String, Slot>,
    pub finished: VecDeque<V2Delivery>,
    pub totals: Totals,
}

#[derive(Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct V2Delivery {
    pub id: String,
    pub notification: String,
    pub intent_seq: u64,
    pub receiver: String,
    pub integration: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub alerts: u32,
    pub firing: u32,
    pub cause: Cause,
    pub fallback_for: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub detail: String,
}

impl V2Delivery {
    /// In the current shape, at `index` of its intent.
    fn current(self, index: u32) -> Delivery {
        let derived = self.id.rsplit_once('-').map(|(n, _)| n);
        Delivery {
            notification: (derived != Some(self.notification.as_str()))
                .then(|| self.notification.as_str().into()),
            id: self.id.into(),
            intent_seq: self.intent_seq,
            index,
            receiver: self.receiver.into(),
            integration: self.integration.into(),
            state: self.state,
            attempts: self.attempts,
            alerts: self.alerts,
            firing: self.firing,
            cause: self.cause,
            fallback_for: self.fallback_for.map(Into::into),
            created_at: self.created_at,
            updated_at: self.updated_at,
            detail: self.detail.into(),
        }
    }
}

/// The view from a version 2 state.
pub fn v2(state: &[u8]) -> Option<DeliveriesView> {
    let old: V2 = postcard::from_bytes(state).ok()?;
    // A finished delivery's place was only in the index.
    let finished = old
        .finished
        .into_iter()
        .map(|d| {
            let index = old.slots.get(&d.id).map_or(0, |slot| slot.1);
            d.current(index)
        })
        .collect();
    let pending = old
        .pending
        .into_iter()
        .map(|(slot, d)| d.current(slot.1))
        .collect();
    Some(DeliveriesView::from(Stored {
        pending,
        finished,
        totals: old.totals,
    }))
}
