//! File integrity monitoring: the paths of `[[collect.files]]`, compared
//! with their baseline (a view of the log) at start, on schedule, on
//! request and whenever the kernel says one changed.
//!
//! * A start compares the disk with the baseline, so a change made while
//!   vigild was stopped is reported, marked so.
//! * A lost notification (the kernel's queue overflowed, the collector's
//!   own queue was full, a read error) or a directory that cannot be
//!   watched leads to a rescan, recorded as one.
//! * Every path is reached through the open directory it was listed in,
//!   never through a link (`beneath`).
//! * The log refusing an append (a full disk) pauses the collector, which
//!   tries again after 1 s, 2 s, ... up to a minute, then rescans.
//! * A change is looked at, not guessed from the notification: an editor's
//!   save (write a temporary file, rename it over) is one modification
//!   with the old and the new hash, a move is one rename.
//! * Hashing runs on `hash_threads` threads within `read_rate`.

mod backoff;
mod beneath;
mod collector;
mod compare;
mod examine;
mod hash;
mod sets;
mod walk;
mod watch;
mod xattrs;

use crate::state::Shared;
use crate::state::messages::{FilesCommand, ScanProgress};
use collector::{Collector, Input};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs file integrity monitoring until vigild stops.
pub async fn run(
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<FilesCommand>,
    progress: tokio::sync::watch::Sender<ScanProgress>,
) {
    // Bounded: a flood of notifications cannot grow it without end (the
    // inotify reader turns a full queue into a rescan, see `watch`).
    let (send, inputs) = flume::bounded(collector::QUEUE);
    let collector = match Collector::new(shared.clone(), inputs, send.clone(), progress) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("file integrity monitoring cannot start: {e}");
            return;
        }
    };
    let thread = match std::thread::Builder::new()
        .name("vigil-files".into())
        .spawn(move || collector.run())
    {
        Ok(thread) => thread,
        Err(e) => {
            tracing::error!("file integrity monitoring cannot start its thread: {e}");
            return;
        }
    };
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => {
                    let _ = send.send_async(Input::Command(command)).await;
                }
                None => break,
            },
            _ = shutdown.changed() => break,
        }
    }
    let _ = send.send_async(Input::Stop).await;
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
}
