//! Views: state derived by replaying the log.
//!
//! Each view is a pure reducer ([`View::apply`]) over the store's events:
//! no I/O, no clock, no wire types. [`Views`] is every view the daemon
//! serves, folded together; [`Views::resume`] brings them up from wherever
//! each one can start (a snapshot "as of seq N", a retention checkpoint's
//! carried state, or nothing) without knowing where those come from: the
//! daemon reads snapshots and the log, this crate only decides.

pub mod auth;
pub mod deliveries;
pub mod delivery_ids;
pub mod incidents;
pub mod keys;
pub mod silences;
pub mod status;

pub use auth::{AuthView, Login, describe};
pub use deliveries::{Cause, DeliveriesView, Delivery, is_pending};
pub use delivery_ids::DeliveryIdView;
pub use incidents::{Incident, IncidentState, IncidentView};
pub use keys::{ApiKey, KeysView};
pub use silences::{SilenceRecord, SilenceState, SilencesView};
pub use status::StatusView;

use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_store::{Event, Seal, ViewState};

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

/// A view's state as of a seq: where it can start before replay.
pub struct Start<V> {
    /// The state.
    pub view: V,
    /// The last seq folded into it (0: none).
    pub as_of: u64,
    /// Whether it came from a snapshot (rather than a checkpoint or nothing).
    pub from_snapshot: bool,
}

impl<V: View> Start<V> {
    /// An empty view before `as_of + 1` (0: the log's beginning).
    pub fn empty(as_of: u64) -> Start<V> {
        Start {
            view: V::default(),
            as_of,
            from_snapshot: false,
        }
    }

    /// Applies an entry the view has not seen yet.
    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        if seal.seq > self.as_of {
            self.view.apply(seal, event);
        }
    }
}

/// Where each view can start: implemented by whoever reads snapshots.
pub trait Starts {
    /// The starting point for `V`.
    fn start<V: View>(&self) -> Start<V>;
}

/// Every view at its starting point, folding in the entries after it.
pub struct Resume {
    status: Start<StatusView>,
    auth: Start<AuthView>,
    keys: Start<KeysView>,
    incidents: Start<IncidentView>,
    delivery_ids: Start<DeliveryIdView>,
    silences: Start<SilencesView>,
    deliveries: Start<DeliveriesView>,
    replayed: u64,
}

impl Resume {
    fn points(&self) -> [(u64, bool); 7] {
        [
            (self.status.as_of, self.status.from_snapshot),
            (self.auth.as_of, self.auth.from_snapshot),
            (self.keys.as_of, self.keys.from_snapshot),
            (self.incidents.as_of, self.incidents.from_snapshot),
            (self.delivery_ids.as_of, self.delivery_ids.from_snapshot),
            (self.silences.as_of, self.silences.from_snapshot),
            (self.deliveries.as_of, self.deliveries.from_snapshot),
        ]
    }

    /// The first seq some view has not seen: replay from here.
    pub fn replay_from(&self) -> u64 {
        self.points().iter().map(|p| p.0).min().unwrap_or(0) + 1
    }

    /// The oldest snapshot used, if any.
    pub fn snapshot_as_of(&self) -> Option<u64> {
        self.points().iter().filter(|p| p.1).map(|p| p.0).min()
    }

    /// Folds one replayed entry into every view that has not seen it.
    pub fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        self.status.apply(seal, event);
        self.auth.apply(seal, event);
        self.keys.apply(seal, event);
        self.incidents.apply(seal, event);
        self.delivery_ids.apply(seal, event);
        self.silences.apply(seal, event);
        self.deliveries.apply(seal, event);
        self.replayed += 1;
    }

    /// The views, having read up to `head`.
    pub fn finish(self, head: u64) -> Views {
        Views {
            status: self.status.view,
            auth: self.auth.view,
            keys: self.keys.view,
            incidents: self.incidents.view,
            delivery_ids: self.delivery_ids.view,
            silences: self.silences.view,
            deliveries: self.deliveries.view,
            applied: head,
            since_snapshot: self.replayed,
        }
    }
}

impl Views {
    /// Every view at the starting point `starts` gives it.
    pub fn resume(starts: &impl Starts) -> Resume {
        Resume {
            status: starts.start(),
            auth: starts.start(),
            keys: starts.start(),
            incidents: starts.start(),
            delivery_ids: starts.start(),
            silences: starts.start(),
            deliveries: starts.start(),
            replayed: 0,
        }
    }

    /// Folds in the next entry of the log.
    pub fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
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

    /// The last seq folded in.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Entries applied since the last snapshot.
    pub fn since_snapshot(&self) -> u64 {
        self.since_snapshot
    }

    /// Every view's state, encoded, as of [`applied`](Self::applied): what
    /// a snapshot or a retention checkpoint keeps.
    pub fn states(&self) -> Vec<ViewState> {
        vec![
            state(&self.status),
            state(&self.auth),
            state(&self.keys),
            state(&self.incidents),
            state(&self.delivery_ids),
            state(&self.silences),
            state(&self.deliveries),
        ]
    }

    /// The states were saved: count entries toward the next snapshot anew.
    pub fn snapshot_saved(&mut self) {
        self.since_snapshot = 0;
    }
}

fn state<V: View>(view: &V) -> ViewState {
    ViewState {
        view: V::NAME.into(),
        version: V::VERSION,
        state: postcard::to_allocvec(view).expect("view state encodes"),
    }
}

/// Decodes a view's state saved by [`Views::snapshot`].
pub fn decode<V: View>(state: &[u8]) -> Result<V, postcard::Error> {
    postcard::from_bytes(state)
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
