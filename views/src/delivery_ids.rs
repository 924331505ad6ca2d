//! Delivery ids already accepted, per source, so a replayed or retried
//! delivery is answered 409 instead of being stored twice. Bounded: the
//! newest [`PER_SOURCE`] ids of each source are remembered.

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};
use vigil_store::{Event, Seal};

/// Ids remembered per source.
pub const PER_SOURCE: usize = 20_000;

/// Recent delivery ids of one source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Recent {
    order: VecDeque<String>,
    set: HashSet<String>,
}

/// Accepted delivery ids by source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryIdView {
    sources: BTreeMap<String, Recent>,
}

impl View for DeliveryIdView {
    const NAME: &'static str = "delivery-ids";
    const VERSION: u32 = 1;

    fn apply(&mut self, _: &Seal, event: Option<&Event>) {
        let (source, id) = match event {
            Some(Event::AlertsIngested(a)) => (&a.source, &a.delivery_id),
            Some(Event::WebhookReceived(w)) => (&w.source, &w.delivery_id),
            _ => return,
        };
        if let Some(id) = id {
            self.insert(source, id);
        }
    }
}

impl DeliveryIdView {
    /// Whether `source` already accepted delivery `id`.
    pub fn seen(&self, source: &str, id: &str) -> bool {
        self.sources.get(source).is_some_and(|r| r.set.contains(id))
    }

    /// Remembers an accepted delivery.
    pub fn insert(&mut self, source: &str, id: &str) {
        let recent = self.sources.entry(source.to_string()).or_default();
        if recent.set.insert(id.to_string()) {
            recent.order.push_back(id.to_string());
            while recent.order.len() > PER_SOURCE {
                if let Some(old) = recent.order.pop_front() {
                    recent.set.remove(&old);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_remembered_per_source_and_bounded() {
        let mut v = DeliveryIdView::default();
        v.insert("gh", "d1");
        assert!(v.seen("gh", "d1"));
        assert!(!v.seen("gl", "d1"));
        for i in 0..PER_SOURCE {
            v.insert("gh", &format!("x{i}"));
        }
        assert!(!v.seen("gh", "d1"));
        assert!(v.seen("gh", &format!("x{}", PER_SOURCE - 1)));
    }
}
