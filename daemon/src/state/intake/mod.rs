//! What the intake paths share between deliveries: rate limits and
//! rejection counts (HTTP), delivery-id claims (HTTP and the spool), and
//! the redactor (every path, the control socket's operator text too).

mod limits;
mod rejections;

pub use rejections::INTERVAL as REJECTION_INTERVAL;

use crate::config::HttpConfig;
use limits::RateLimits;
use rejections::Rejections;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use vigil_ingest::redact::Redactor;
use vigil_views::DeliveryIdView;

/// Rate limits, rejection counts, the redactor and accepted delivery ids.
pub struct IngestState {
    /// Per-address and per-key buckets.
    pub limits: RateLimits,
    /// Rejections counted until the next flush.
    pub rejections: Rejections,
    /// Secret scrubber for everything stored.
    pub redactor: Redactor,
    ids: Arc<Mutex<Ids>>,
}

#[derive(Default)]
struct Ids {
    accepted: DeliveryIdView,
    in_flight: HashSet<(String, String)>,
}

/// A delivery id held while its delivery is being stored: a concurrent
/// duplicate gets 409. Dropped without [`Claim::accepted`], it is released.
pub struct Claim {
    ids: Arc<Mutex<Ids>>,
    key: Option<(String, String)>,
}

impl Claim {
    /// The delivery is durable: remember its id for good.
    pub fn accepted(mut self) {
        if let Some((source, id)) = self.key.take() {
            let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
            ids.in_flight.remove(&(source.clone(), id.clone()));
            ids.accepted.insert(&source, &id);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
            ids.in_flight.remove(&key);
        }
    }
}

impl IngestState {
    /// State for `config`, with the delivery ids the log already holds.
    pub fn new(config: &HttpConfig, redactor: Redactor, accepted: DeliveryIdView) -> IngestState {
        IngestState {
            limits: RateLimits::new(config),
            rejections: Rejections::default(),
            redactor,
            ids: Arc::new(Mutex::new(Ids {
                accepted,
                in_flight: HashSet::new(),
            })),
        }
    }

    /// Claims delivery `id` of `source`; `None` if it was accepted before or
    /// is being stored right now.
    pub fn claim(&self, source: &str, id: &str) -> Option<Claim> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        let key = (source.to_string(), id.to_string());
        if ids.accepted.seen(source, id) || !ids.in_flight.insert(key.clone()) {
            return None;
        }
        Some(Claim {
            ids: self.ids.clone(),
            key: Some(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_is_claimed_once_and_released_if_not_stored() {
        let s = IngestState::new(
            &HttpConfig::default(),
            Redactor::default(),
            DeliveryIdView::default(),
        );
        let first = s.claim("gh", "d1").unwrap();
        assert!(s.claim("gh", "d1").is_none(), "in flight");
        drop(first);
        let again = s.claim("gh", "d1").unwrap();
        again.accepted();
        assert!(s.claim("gh", "d1").is_none(), "accepted");
        assert!(s.claim("gl", "d1").is_some());
    }
}
