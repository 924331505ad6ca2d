//! The views kept current with the log: restored at start from snapshots
//! (or a retention checkpoint's carried state) and the entries after them,
//! caught up as the log grows, snapshotted now and then.
//!
//! The reducers and the choice of where to resume are `vigil-views`'; this
//! module does their I/O.

use vigil_store::{Event, FileIntegrity, Log, Result, ViewState};
use vigil_views::{Start, Starts, View, Views};

/// How the views were brought up to date at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restore {
    /// Entries replayed.
    pub replayed: u64,
    /// Seq of the oldest snapshot used, if any.
    pub snapshot_as_of: Option<u64>,
}

/// Where each view can start in this log: its snapshot when usable, else
/// the state the retention checkpoint carried, else empty.
struct LogStarts<'a> {
    log: &'a Log,
    checkpoint: Vec<ViewState>,
    /// Whether snapshots may be used (not when rebuilding from the log alone).
    snapshots: bool,
}

impl Starts for LogStarts<'_> {
    fn start<V: View>(&self) -> Start<V> {
        let log = self.log;
        let floor = log.first_seq() - 1;
        let head = log.head().seq;
        let snapshot = if self.snapshots {
            log.load_snapshot(V::NAME)
        } else {
            Ok(None)
        };
        match snapshot {
            Ok(Some(snap))
                if snap.version == V::VERSION && snap.as_of >= floor && snap.as_of <= head =>
            {
                match vigil_views::decode::<V>(&snap.state) {
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
            let state = self.checkpoint.iter().find(|s| s.view == V::NAME);
            let carried = match state {
                Some(s) if s.version == V::VERSION => match vigil_views::decode::<V>(&s.state) {
                    Ok(view) => Some(view),
                    Err(e) => {
                        tracing::warn!(
                            view = V::NAME,
                            "the retention checkpoint's state for this view is unreadable ({e}); it starts empty at seq {floor}"
                        );
                        None
                    }
                },
                Some(s) => match V::migrate(s.version, &s.state) {
                    Some(view) => {
                        tracing::info!(
                            view = V::NAME,
                            from = s.version,
                            to = V::VERSION,
                            "the retention checkpoint's state was read from an earlier version"
                        );
                        Some(view)
                    }
                    None => {
                        tracing::warn!(
                            view = V::NAME,
                            "the retention checkpoint carries state version {} for this view and this build reads {}; it starts empty at seq {floor}",
                            s.version,
                            V::VERSION
                        );
                        None
                    }
                },
                None => {
                    tracing::warn!(
                        view = V::NAME,
                        "the retention checkpoint carries no state for this view; it starts empty at seq {floor}"
                    );
                    None
                }
            };
            return Start {
                view: carried.unwrap_or_default(),
                as_of: floor,
                from_snapshot: false,
            };
        }
        Start::empty(0)
    }
}

/// Restores every view from snapshots and replays the rest of the log.
pub fn restore(log: &Log) -> Result<(Views, Restore)> {
    let checkpoint = checkpoint_states(log)?;
    let mut resume = Views::resume(&LogStarts {
        log,
        checkpoint,
        snapshots: true,
    });
    let snapshot_as_of = resume.snapshot_as_of();
    let replayed = log.replay(resume.replay_from(), |entry, event| {
        resume.apply(entry.seal(), event.as_ref());
        Ok(())
    })?;
    Ok((
        resume.finish(log.head().seq),
        Restore {
            replayed,
            snapshot_as_of,
        },
    ))
}

/// The views rebuilt from the log alone, as of seq `upto`: the retention
/// checkpoint's carried state, then every entry after it up to `upto`.
/// What a start without snapshots would see; what a new checkpoint at
/// `upto` must carry.
pub fn rebuild(log: &Log, upto: u64) -> Result<Views> {
    let checkpoint = checkpoint_states(log)?;
    let mut resume = Views::resume(&LogStarts {
        log,
        checkpoint,
        snapshots: false,
    });
    let upto = upto.min(log.head().seq);
    log.replay_between(resume.replay_from(), upto, |entry, event| {
        resume.apply(entry.seal(), event.as_ref());
        Ok(())
    })?;
    Ok(resume.finish(upto))
}

/// The view states the newest retention checkpoint carries.
fn checkpoint_states(log: &Log) -> Result<Vec<ViewState>> {
    Ok(match log.cut() {
        Some(cut) => match log
            .get(cut.checkpoint_seq)?
            .and_then(|e| e.event().ok().flatten())
        {
            Some(Event::Checkpoint(cp)) => cp.views,
            _ => Vec::new(),
        },
        None => Vec::new(),
    })
}

/// Applies whatever the log holds beyond what the views have seen.
pub fn catch_up(views: &mut Views, log: &Log) -> Result<u64> {
    let mut applied = 0;
    let mut scanned = false;
    for entry in log.entries(views.applied() + 1) {
        let entry = entry?;
        let event = entry.event()?;
        scanned |= matches!(
            event,
            Some(Event::FileIntegrity(FileIntegrity::ScanFinished { .. }))
        );
        views.apply(entry.seal(), event.as_ref());
        applied += 1;
    }
    if scanned {
        // The files view packed its baseline anew: the old one's memory
        // goes back now, not whenever this thread next allocates.
        crate::sys::memory::give_back();
    }
    Ok(applied)
}

/// Saves every view as of the last applied seq.
pub fn snapshot(views: &mut Views, log: &Log) -> Result<()> {
    views.save_each(|view, snapshot| log.save_encoded_snapshot(view, snapshot))?;
    views.snapshot_saved();
    Ok(())
}
