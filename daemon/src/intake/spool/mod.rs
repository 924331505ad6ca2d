//! The spool directory: scripts that cannot speak HTTP write an alert file
//! into `<spool>/tmp/`, then rename it into `<spool>/incoming/` (the rename
//! is atomic, so the daemon never reads half a file). Each file is ingested
//! with the `[spool]` driver, then moved to `done/`, or to `failed/` beside
//! a `<name>.reason` file.
//!
//! `incoming/` is watched with inotify, and rescanned every
//! [`RESCAN`] in case an event was lost. Files are taken in name order, one
//! at a time. No file is lost: a file stays in `incoming/` until its event
//! is durable, and ingesting is idempotent by content (see [`file`]).

mod dirs;
mod file;

pub use dirs::{SpoolDirs, SpoolError};

use crate::state::Shared;
use file::Outcome;
use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often `incoming/` is rescanned without a notification.
pub const RESCAN: Duration = Duration::from_secs(10);

/// Watches and drains the spool until shutdown.
pub async fn run(shared: Arc<Shared>, dirs: SpoolDirs) {
    let (wake, mut woken) = mpsc::channel::<()>(1);
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only arrivals: listing the directory itself raises open/close
        // events on it, which must not wake another scan.
        let arrival = event.is_ok_and(|e| {
            matches!(
                e.kind,
                EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
            )
        });
        if arrival {
            // A full channel already means "scan again": nothing is lost.
            let _ = wake.try_send(());
        }
    })
    .and_then(|mut w| {
        w.watch(&dirs.incoming, RecursiveMode::NonRecursive)
            .map(|()| w)
    });
    let _watcher = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                dir = %dirs.incoming.display(),
                "cannot watch the spool directory ({e}); rescanning every {}s instead",
                RESCAN.as_secs()
            );
            None
        }
    };
    let mut shutdown = shared.shutdown.clone();
    let mut tick = tokio::time::interval(RESCAN);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        drain(&shared, &dirs).await;
        tokio::select! {
            _ = woken.recv() => {}
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Ingests everything waiting in `incoming/`.
async fn drain(shared: &Shared, dirs: &SpoolDirs) {
    let listing = {
        let dirs = dirs.clone();
        tokio::task::spawn_blocking(move || dirs.waiting()).await
    };
    let names = match listing {
        Ok(Ok(names)) => names,
        Ok(Err(e)) => {
            tracing::error!(dir = %dirs.incoming.display(), "cannot list the spool: {e}");
            return;
        }
        Err(_) => return,
    };
    let spool = shared.config().spool.clone();
    for name in names {
        if *shared.shutdown.borrow() {
            return;
        }
        let path = dirs.incoming.join(&name);
        // The name is the writer's text: logged as it is stored, redacted.
        let shown = shared
            .ingest
            .redactor
            .redact(&name.to_string_lossy())
            .into_owned();
        let outcome = file::ingest(shared, &path, &name, &spool).await;
        let moved = {
            let dirs = dirs.clone();
            let name = name.clone();
            let outcome = match &outcome {
                Outcome::Ingested { .. } | Outcome::AlreadyIngested => Ok(None),
                Outcome::Failed(reason) => Ok(Some(reason.clone())),
                Outcome::Retry(reason) => Err(reason.clone()),
            };
            tokio::task::spawn_blocking(move || match outcome {
                Ok(None) => dirs.done(&name).map(Some),
                Ok(Some(reason)) => dirs.failed(&name, &reason).map(Some),
                Err(_) => Ok(None),
            })
            .await
        };
        match (&outcome, moved) {
            (Outcome::Ingested { seq, alerts }, Ok(Ok(_))) => {
                tracing::info!(file = %shown, seq, alerts, "spool file ingested");
            }
            (Outcome::AlreadyIngested, Ok(Ok(_))) => {
                tracing::info!(file = %shown, "spool file was ingested before; moved to done/");
            }
            (Outcome::Failed(reason), Ok(Ok(_))) => {
                tracing::warn!(file = %shown, "spool file refused: {reason}");
            }
            (Outcome::Retry(reason), _) => {
                tracing::error!(file = %shown, "spool file left for the next scan: {reason}");
            }
            (_, Ok(Err(e))) => {
                // Stays in incoming/: the next scan finds it again and, being
                // ingested already, only moves it.
                tracing::error!(file = %shown, "cannot move the spool file: {e}");
            }
            (_, Err(_)) => {}
        }
    }
}
