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
pub mod files;
pub mod forward;
pub mod incidents;
pub mod keys;
pub mod logs;
mod shared;
pub mod silences;
mod slab;
pub mod status;

pub use auth::{AuthView, Login, describe};
pub use deliveries::{Cause, DeliveriesView, Delivery, is_pending};
pub use delivery_ids::DeliveryIdView;
pub use files::{Baseline, BaselineEntry, FilesView, ScanDone, ScanUnderway};
pub use forward::ForwardView;
pub use incidents::{Incident, IncidentState, IncidentView};
pub use keys::{ApiKey, KeysView};
pub use logs::{FollowedLog, LogsView};
pub use silences::{SilenceRecord, SilenceState, SilencesView};
pub use status::StatusView;

use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_store::{EncodedSnapshot, Event, EventKind, Seal, ViewState};

/// A reducer over the log.
pub trait View: Default + Serialize + DeserializeOwned {
    /// Name, also the snapshot key.
    const NAME: &'static str;
    /// State format version; bump it when the state's shape changes.
    const VERSION: u32;
    /// Folds one entry in (`event` is `None` when retention dropped the body).
    fn apply(&mut self, seal: &Seal, event: Option<&Event>);

    /// Adds the seqs whose bodies the view's live state still comes from
    /// (an active key, an open incident, a pending delivery, a baselined
    /// file, a log position): retention keeps those bodies, so a view
    /// rebuilt after a prune holds the same live state. History (resolved
    /// incidents, past logins) is not pinned: retention may drop it.
    fn pins(&self, _out: &mut Vec<u64>) {}

    /// Adds `(kind, seq)`: every body of that kind from that seq on may
    /// change the live state (a later step of a pending delivery, the end
    /// of a silence still remembered, an operator's action on an incident
    /// still remembered), so retention keeps them all.
    fn holds(&self, _out: &mut Vec<(EventKind, u64)>) {}

    /// Adds seqs whose bodies the daemon reads from the log while it runs
    /// (a pending delivery's intent holds what to send): retention neither
    /// drops nor truncates them.
    fn reads(&self, _out: &mut Vec<u64>) {}

    /// Reads `state` written by an older `version` of this view, for a
    /// retention checkpoint: its state is all there is of the events
    /// behind the cut, so a view that changes shape keeps a reader of
    /// every shape a checkpoint may carry. `None`: not readable.
    fn migrate(_version: u32, _state: &[u8]) -> Option<Self> {
        None
    }
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

/// Declares the views the daemon serves, once: the [`Views`] struct, the
/// [`Resume`] that brings them up, and every fold over all of them follow
/// from this list (a new view is one line here).
macro_rules! every_view {
    ($($(#[$doc:meta])* $field:ident: $view:ty,)+) => {
        /// Every view the daemon serves, and how far they have read.
        #[derive(Default)]
        pub struct Views {
            $($(#[$doc])* pub $field: $view,)+
            applied: u64,
            since_snapshot: u64,
        }

        /// Every view at its starting point, folding in the entries after it.
        pub struct Resume {
            $($field: Start<$view>,)+
            replayed: u64,
        }

        impl Resume {
            /// Each view's starting seq, and whether a snapshot gave it.
            fn points(&self) -> Vec<(u64, bool)> {
                vec![$((self.$field.as_of, self.$field.from_snapshot),)+]
            }

            /// Folds one replayed entry into every view that has not seen it.
            pub fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
                $(self.$field.apply(seal, event);)+
                self.replayed += 1;
            }

            /// The views, having read up to `head`.
            pub fn finish(self, head: u64) -> Views {
                Views {
                    $($field: self.$field.view,)+
                    applied: head,
                    since_snapshot: self.replayed,
                }
            }
        }

        impl Views {
            /// Every view at the starting point `starts` gives it.
            pub fn resume(starts: &impl Starts) -> Resume {
                Resume {
                    $($field: starts.start(),)+
                    replayed: 0,
                }
            }

            /// Folds in the next entry of the log.
            pub fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
                $(self.$field.apply(seal, event);)+
                self.applied = seal.seq;
                self.since_snapshot += 1;
            }

            /// Every view's state, encoded, as of [`applied`](Self::applied):
            /// what a snapshot or a retention checkpoint keeps.
            pub fn states(&self) -> Vec<ViewState> {
                vec![$(state(&self.$field),)+]
            }

            /// Every view's state as a snapshot as of
            /// [`applied`](Self::applied), encoded one view at a time
            /// straight into what the store keeps, each handed to `save`
            /// before the next is encoded.
            pub fn save_each<E>(
                &self,
                mut save: impl FnMut(&'static str, EncodedSnapshot) -> Result<(), E>,
            ) -> Result<(), E> {
                $(save(<$view as View>::NAME, snapshot(&self.$field, self.applied))?;)+
                Ok(())
            }

            /// The names of the views whose state differs from `other`'s.
            pub fn differing(&self, other: &Views) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(if self.$field != other.$field {
                    out.push(<$view as View>::NAME);
                })+
                out
            }

            /// For each kind, the first seq from which every body of that
            /// kind must stay (see [`View::holds`]).
            pub fn holds(&self) -> std::collections::BTreeMap<EventKind, u64> {
                let mut all = Vec::new();
                $(self.$field.holds(&mut all);)+
                let mut out = std::collections::BTreeMap::new();
                for (kind, seq) in all {
                    let at = out.entry(kind).or_insert(seq);
                    *at = (*at).min(seq);
                }
                out
            }

            /// The oldest seq the daemon reads from the log while it runs
            /// (see [`View::reads`]): the log may not be truncated past it.
            pub fn log_floor(&self) -> Option<u64> {
                let mut all = Vec::new();
                $(self.$field.reads(&mut all);)+
                all.into_iter().min()
            }

            /// Every seq some view's live state still needs the body of,
            /// sorted, each once (see [`View::pins`]).
            pub fn pins(&self) -> Vec<u64> {
                let mut out = Vec::new();
                $(self.$field.pins(&mut out);)+
                out.sort_unstable();
                out.dedup();
                out
            }
        }
    };
}

every_view! {
    /// Head, counts by kind.
    status: StatusView,
    /// Recent logins and denials.
    auth: AuthView,
    /// API keys.
    keys: KeysView,
    /// Incidents.
    incidents: IncidentView,
    /// Accepted delivery ids.
    delivery_ids: DeliveryIdView,
    /// Silences.
    silences: SilencesView,
    /// The notification outbox.
    deliveries: DeliveriesView,
    /// The file integrity baseline.
    files: FilesView,
    /// Followed logs' positions and threshold counts.
    logs: LogsView,
    /// How far the fleet's broker holds the chain.
    forward: ForwardView,
}

impl Resume {
    /// The first seq some view has not seen: replay from here.
    pub fn replay_from(&self) -> u64 {
        self.points().iter().map(|p| p.0).min().unwrap_or(0) + 1
    }

    /// The oldest snapshot used, if any.
    pub fn snapshot_as_of(&self) -> Option<u64> {
        self.points().iter().filter(|p| p.1).map(|p| p.0).min()
    }
}

impl Views {
    /// The last seq folded in.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Entries applied since the last snapshot.
    pub fn since_snapshot(&self) -> u64 {
        self.since_snapshot
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

fn snapshot<V: View>(view: &V, as_of: u64) -> EncodedSnapshot {
    EncodedSnapshot::new(V::VERSION, as_of, view).expect("view state encodes")
}

/// Decodes a view's state saved from [`Views::states`].
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The status view comes from a snapshot as of seq 5; every other view
    /// starts empty.
    struct StatusSnapshotAt5;

    impl Starts for StatusSnapshotAt5 {
        fn start<V: View>(&self) -> Start<V> {
            if V::NAME == StatusView::NAME {
                let snapshot = StatusView {
                    entries: 5,
                    ..StatusView::default()
                };
                let state = postcard::to_allocvec(&snapshot).unwrap();
                Start {
                    view: decode(&state).unwrap(),
                    as_of: 5,
                    from_snapshot: true,
                }
            } else {
                Start::empty(0)
            }
        }
    }

    #[test]
    fn each_view_resumes_after_its_own_starting_point() {
        let mut resume = Views::resume(&StatusSnapshotAt5);
        assert_eq!(resume.replay_from(), 1, "the empty views need everything");
        assert_eq!(resume.snapshot_as_of(), Some(5));
        for seq in 1..=7 {
            resume.apply(&test_seal(seq, 0), None);
        }
        let mut views = resume.finish(7);
        // The snapshot's 5 entries and the two after it, not 5 + 7.
        assert_eq!(views.status.entries, 7);
        assert_eq!(views.applied(), 7);
        assert_eq!(views.since_snapshot(), 7);
        views.apply(&test_seal(8, 0), None);
        assert_eq!((views.applied(), views.since_snapshot()), (8, 8));
        views.snapshot_saved();
        assert_eq!(views.since_snapshot(), 0);
        let names: Vec<String> = views.states().into_iter().map(|s| s.view).collect();
        assert_eq!(names.len(), 10, "every view is saved: {names:?}");
    }
}
