//! Views: state derived by replaying the log.
//!
//! Each view is a pure reducer ([`View::apply`]), never doing I/O. At start
//! the daemon restores each view from its snapshot (versioned, "as of seq
//! N") and replays only the entries after it; a missing, corrupt or
//! unknown-version snapshot means replaying from the oldest entry (or from
//! the state a retention checkpoint carried).

mod auth;
mod deliveries;
mod delivery_ids;
mod incidents;
mod keys;
mod silences;
mod status;

pub use auth::{AuthView, describe};
pub use deliveries::{DeliveriesView, Delivery, is_pending};
pub use delivery_ids::DeliveryIdView;
pub use incidents::{Incident, IncidentState, IncidentView};
pub use keys::{ApiKey, KeysView};
pub use silences::{SilenceRecord, SilenceState, SilencesView};
pub use status::StatusView;

use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_store::{Event, Log, Result, Seal, ViewSnapshot, ViewState};

/// A reducer over the log.
pub trait View: Default + Serialize + DeserializeOwned {
    /// Name, also the snapshot key.
    const NAME: &'static str;
    /// State format version; bump it when the state's shape changes.
    const VERSION: u32;
    /// Folds one entry in (`event` is `None` when retention dropped the body).
    fn apply(&mut self, seal: &Seal, event: Option<&Event>);
}

/// Every view the daemon serves, and how far they have read.
#[derive(Default)]
pub struct Views {
    /// Head, counts by kind.
    pub status: StatusView,
    /// Recent logins and denials.
    pub auth: AuthView,
    /// API keys.
    pub keys: KeysView,
    /// Incidents.
    pub incidents: IncidentView,
    /// Accepted delivery ids.
    pub delivery_ids: DeliveryIdView,
    /// Silences.
    pub silences: SilencesView,
    /// The notification outbox.
    pub deliveries: DeliveriesView,
    applied: u64,
    since_snapshot: u64,
}

/// How the views were brought up to date at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restore {
    /// Entries replayed.
    pub replayed: u64,
    /// Seq of the oldest snapshot used, if any.
    pub snapshot_as_of: Option<u64>,
}

/// One view's starting point.
struct Start<V> {
    view: V,
    as_of: u64,
    from_snapshot: bool,
}

impl<V: View> Start<V> {
    /// Applies an entry the view has not seen yet.
    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        if seal.seq > self.as_of {
            self.view.apply(seal, event);
        }
    }
}

fn start<V: View>(log: &Log, checkpoint: &[ViewState]) -> Start<V> {
    let floor = log.first_seq() - 1;
    let head = log.head().seq;
    match log.load_snapshot(V::NAME) {
        Ok(Some(snap))
            if snap.version == V::VERSION && snap.as_of >= floor && snap.as_of <= head =>
        {
            match postcard::from_bytes::<V>(&snap.state) {
                Ok(view) => {
                    return Start {
                        view,
                        as_of: snap.as_of,
                        from_snapshot: true,
                    };
                }
                Err(e) => tracing::warn!(
                    view = V::NAME,
                    "snapshot unreadable ({e}); replaying in full"
                ),
            }
        }
        Ok(Some(snap)) => tracing::info!(
            view = V::NAME,
            version = snap.version,
            as_of = snap.as_of,
            "snapshot not usable by this version or outside the log; replaying in full"
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            view = V::NAME,
            "snapshot unreadable ({e}); replaying in full"
        ),
    }
    if floor > 0 {
        let carried = checkpoint
            .iter()
            .find(|s| s.view == V::NAME && s.version == V::VERSION)
            .and_then(|s| postcard::from_bytes::<V>(&s.state).ok());
        if carried.is_none() {
            tracing::warn!(
                view = V::NAME,
                "the retention checkpoint carries no state for this view; it starts empty at seq {floor}"
            );
        }
        return Start {
            view: carried.unwrap_or_default(),
            as_of: floor,
            from_snapshot: false,
        };
    }
    Start {
        view: V::default(),
        as_of: 0,
        from_snapshot: false,
    }
}

impl Views {
    /// Restores every view from snapshots and replays the rest of the log.
    pub fn restore(log: &Log) -> Result<(Views, Restore)> {
        let checkpoint = match log.cut() {
            Some(cut) => match log
                .get(cut.checkpoint_seq)?
                .and_then(|e| e.event().ok().flatten())
            {
                Some(Event::Checkpoint(cp)) => cp.views,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let mut status = start::<StatusView>(log, &checkpoint);
        let mut auth = start::<AuthView>(log, &checkpoint);
        let mut keys = start::<KeysView>(log, &checkpoint);
        let mut incidents = start::<IncidentView>(log, &checkpoint);
        let mut delivery_ids = start::<DeliveryIdView>(log, &checkpoint);
        let mut silences = start::<SilencesView>(log, &checkpoint);
        let mut deliveries = start::<DeliveriesView>(log, &checkpoint);
        let points = [
            (status.as_of, status.from_snapshot),
            (auth.as_of, auth.from_snapshot),
            (keys.as_of, keys.from_snapshot),
            (incidents.as_of, incidents.from_snapshot),
            (delivery_ids.as_of, delivery_ids.from_snapshot),
            (silences.as_of, silences.from_snapshot),
            (deliveries.as_of, deliveries.from_snapshot),
        ];
        let from = points.iter().map(|p| p.0).min().unwrap_or(0) + 1;
        let snapshot_as_of = points.iter().filter(|p| p.1).map(|p| p.0).min();
        let replayed = log.replay(from, |entry, event| {
            let (seal, event) = (entry.seal(), event.as_ref());
            status.apply(seal, event);
            auth.apply(seal, event);
            keys.apply(seal, event);
            incidents.apply(seal, event);
            delivery_ids.apply(seal, event);
            silences.apply(seal, event);
            deliveries.apply(seal, event);
            Ok(())
        })?;
        let views = Views {
            status: status.view,
            auth: auth.view,
            keys: keys.view,
            incidents: incidents.view,
            delivery_ids: delivery_ids.view,
            silences: silences.view,
            deliveries: deliveries.view,
            applied: log.head().seq,
            since_snapshot: replayed,
        };
        Ok((
            views,
            Restore {
                replayed,
                snapshot_as_of,
            },
        ))
    }

    /// Applies whatever the log holds beyond what the views have seen.
    pub fn catch_up(&mut self, log: &Log) -> Result<u64> {
        let mut applied = 0;
        for entry in log.entries(self.applied + 1) {
            let entry = entry?;
            let event = entry.event()?;
            self.apply(entry.seal(), event.as_ref());
            applied += 1;
        }
        Ok(applied)
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        self.status.apply(seal, event);
        self.auth.apply(seal, event);
        self.keys.apply(seal, event);
        self.incidents.apply(seal, event);
        self.delivery_ids.apply(seal, event);
        self.silences.apply(seal, event);
        self.deliveries.apply(seal, event);
        self.applied = seal.seq;
        self.since_snapshot += 1;
    }

    /// Entries applied since the last snapshot.
    pub fn since_snapshot(&self) -> u64 {
        self.since_snapshot
    }

    /// Saves every view as of the last applied seq.
    pub fn snapshot(&mut self, log: &Log) -> Result<()> {
        for (name, version, state) in self.states() {
            log.save_snapshot(
                name,
                &ViewSnapshot {
                    version,
                    as_of: self.applied,
                    state,
                },
            )?;
        }
        self.since_snapshot = 0;
        Ok(())
    }

    fn states(&self) -> Vec<(&'static str, u32, Vec<u8>)> {
        vec![
            (StatusView::NAME, StatusView::VERSION, encode(&self.status)),
            (AuthView::NAME, AuthView::VERSION, encode(&self.auth)),
            (KeysView::NAME, KeysView::VERSION, encode(&self.keys)),
            (
                IncidentView::NAME,
                IncidentView::VERSION,
                encode(&self.incidents),
            ),
            (
                DeliveryIdView::NAME,
                DeliveryIdView::VERSION,
                encode(&self.delivery_ids),
            ),
            (
                SilencesView::NAME,
                SilencesView::VERSION,
                encode(&self.silences),
            ),
            (
                DeliveriesView::NAME,
                DeliveriesView::VERSION,
                encode(&self.deliveries),
            ),
        ]
    }
}

/// A seal for reducer tests: only `seq` and `time` matter to views.
#[cfg(test)]
pub(crate) fn test_seal(seq: u64, time: i64) -> Seal {
    Seal {
        seq,
        time,
        kind: 0,
        epoch: 1,
        digest: vigil_store::Hash::ZERO,
        link: vigil_store::Hash::ZERO,
        tag: vigil_store::Hash::ZERO,
    }
}

fn encode<V: View>(view: &V) -> Vec<u8> {
    postcard::to_allocvec(view).expect("view state encodes")
}
