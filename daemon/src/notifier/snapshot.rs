//! The notifier's snapshot: its aggregation groups, saved beside the views
//! (when a tick ran is not an event, so the groups are not in the log) and
//! brought forward at start by following the log from the seq they are as of.

use super::{Notifier, SNAPSHOT, SNAPSHOT_VERSION};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use vigil_notify::route::Dispatcher;
use vigil_notify::route::dispatch::GroupsV1;
use vigil_store::{EncodedSnapshot, Log};

/// The saved state.
#[derive(Default, Deserialize)]
pub(super) struct Saved {
    pub(super) dispatcher: Dispatcher,
}

/// The saved state at version 1, before the groups were saved compactly.
#[derive(Deserialize)]
struct SavedV1 {
    dispatcher: GroupsV1,
}

/// The state saved as `version`, if this build reads it.
fn decode(version: u32, state: &[u8]) -> Option<Result<Saved, postcard::Error>> {
    match version {
        SNAPSHOT_VERSION => Some(postcard::from_bytes::<Saved>(state)),
        1 => Some(postcard::from_bytes::<SavedV1>(state).map(|old| Saved {
            dispatcher: old.dispatcher.into(),
        })),
        _ => None,
    }
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
        // Written once, straight into the value the store keeps: with a
        // hundred thousand groups waiting this is tens of MB.
        let saved = SavedRef {
            dispatcher: &self.dispatcher,
        };
        let snapshot = match EncodedSnapshot::new(SNAPSHOT_VERSION, self.cursor, &saved) {
            Ok(snapshot) => snapshot,
            Err(e) => {
                tracing::error!("cannot encode the notifier state: {e}");
                return;
            }
        };
        let log = self.shared.log.clone();
        match tokio::task::spawn_blocking(move || log.save_encoded_snapshot(SNAPSHOT, snapshot))
            .await
        {
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
        Ok(Some(snap)) if snap.as_of <= log.head().seq => match decode(snap.version, &snap.state) {
            None => {}
            Some(Ok(saved)) => return (saved, snap.as_of.max(floor)),
            Some(Err(e)) => {
                tracing::warn!("notifier state unreadable ({e}); rebuilding from the log")
            }
        },
        Ok(_) => {}
        Err(e) => tracing::warn!("notifier state unreadable ({e}); rebuilding from the log"),
    }
    (Saved::default(), floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_saved_forms_read_and_others_do_not() {
        let groups = vigil_notify::route::Dispatcher::new();
        let now = postcard::to_allocvec(&SavedRef {
            dispatcher: &groups,
        })
        .unwrap();
        assert!(matches!(decode(SNAPSHOT_VERSION, &now), Some(Ok(_))));
        // Version 1: the groups as a map by key (here none).
        assert!(matches!(decode(1, &[0]), Some(Ok(s)) if s.dispatcher.is_empty()));
        assert!(decode(SNAPSHOT_VERSION + 1, &now).is_none());
        assert!(matches!(decode(SNAPSHOT_VERSION, &[7]), Some(Err(_))));
    }
}
