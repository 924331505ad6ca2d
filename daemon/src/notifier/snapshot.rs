//! The notifier's snapshot: its aggregation groups, saved beside the views
//! (when a tick ran is not an event, so the groups are not in the log) and
//! brought forward at start by following the log from the seq they are as of.

use super::{Notifier, SNAPSHOT, SNAPSHOT_VERSION};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use vigil_notify::route::Dispatcher;
use vigil_store::{Log, ViewSnapshot};

/// The saved state.
#[derive(Default, Deserialize)]
pub(super) struct Saved {
    pub(super) dispatcher: Dispatcher,
}

/// [`Saved`], borrowed: encoding it copies nothing (postcard writes a
/// reference exactly as the value).
#[derive(Serialize)]
struct SavedRef<'a> {
    dispatcher: &'a Dispatcher,
}

impl Notifier {
    /// Saves the groups as of the cursor.
    pub(super) async fn save(&mut self) {
        self.outbox.shrink();
        tracing::debug!(
            groups = self.dispatcher.len(),
            queued = self.outbox.queued(),
            in_flight = self.outbox.in_flight(),
            "notifier state saved"
        );
        let state = match postcard::to_allocvec(&SavedRef {
            dispatcher: &self.dispatcher,
        }) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!("cannot encode the notifier state: {e}");
                return;
            }
        };
        let snapshot = ViewSnapshot {
            version: SNAPSHOT_VERSION,
            as_of: self.cursor,
            state,
        };
        let log = self.shared.log.clone();
        match tokio::task::spawn_blocking(move || log.save_snapshot(SNAPSHOT, &snapshot)).await {
            Ok(Ok(())) => {
                self.dirty = false;
                self.saved_at = Instant::now();
            }
            Ok(Err(e)) => tracing::warn!("cannot save the notifier state: {e}"),
            Err(e) => tracing::warn!("cannot save the notifier state: {e}"),
        }
    }
}

/// The saved groups and the seq they are as of.
pub(super) fn load(log: &Log) -> (Saved, u64) {
    let floor = log.first_seq().saturating_sub(1);
    match log.load_snapshot(SNAPSHOT) {
        Ok(Some(snap)) if snap.version == SNAPSHOT_VERSION && snap.as_of <= log.head().seq => {
            match postcard::from_bytes::<Saved>(&snap.state) {
                Ok(saved) => return (saved, snap.as_of.max(floor)),
                Err(e) => {
                    tracing::warn!("notifier state unreadable ({e}); rebuilding from the log")
                }
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("notifier state unreadable ({e}); rebuilding from the log"),
    }
    (Saved::default(), floor)
}
