//! Background work: epoch advances and anchors, view upkeep and snapshots,
//! closing denial windows, the systemd watchdog.

use crate::state::Shared;
use crate::sys::logging::ANCHOR;
use crate::sys::systemd;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use vigil_store::{Head, Log, StoreError};

/// Logs the head as an external anchor (journald notice): a later
/// `vigilctl verify --anchor SEQ:LINK` proves the tail up to it is intact.
pub fn anchor(head: &Head, why: &str) {
    tracing::info!(target: ANCHOR, seq = head.seq, epoch = head.epoch, link = %head.link, "chain anchor ({why}): {}:{}", head.seq, head.link);
}

/// Advances the sealing epoch (erasing the old key) and anchors the head.
pub async fn advance_epoch(log: &Log, reason: &'static str) -> Result<Head, StoreError> {
    let log = log.clone();
    let head = tokio::task::spawn_blocking(move || log.advance_epoch(reason))
        .await
        .map_err(|e| StoreError::InvalidRequest(format!("epoch task: {e}")))??;
    anchor(&head, reason);
    Ok(head)
}

/// Moves to the next epoch every `epoch_interval` (re-read after each advance).
pub async fn epochs(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let interval = shared.config().daemon.epoch_interval.0;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = advance_epoch(&shared.log, "timer").await {
            tracing::error!("cannot advance the sealing epoch: {e}");
        }
    }
}

/// Keeps the views current and snapshots them every `snapshot_every` events.
pub async fn views(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let every = shared.config().daemon.snapshot_every;
        let s = shared.clone();
        let done = tokio::task::spawn_blocking(move || {
            s.with_views(|v| {
                if v.since_snapshot() >= every {
                    s.snapshot(v)
                } else {
                    Ok(())
                }
            })
        })
        .await;
        match done {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e)) | Err(e)) => tracing::warn!("view snapshot failed: {e}"),
            Err(e) => tracing::warn!("view task failed: {e}"),
        }
    }
}

/// Writes counted denials when their windows close.
pub async fn denials(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = shared.auditor.flush(false).await {
            tracing::error!("cannot record counted denials: {e}");
        }
    }
}

/// Writes counted ingestion rejections, and forgets idle rate-limit buckets.
pub async fn ingest_housekeeping(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut tick = tokio::time::interval(crate::state::intake::REJECTION_INTERVAL);
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        flush_rejections(&shared).await;
        ticks += 1;
        if ticks.is_multiple_of(6) {
            shared.ingest.limits.shrink();
        }
    }
}

/// Appends the counted ingestion rejections.
pub async fn flush_rejections(shared: &Shared) {
    let events = shared.ingest.rejections.drain();
    if !events.is_empty()
        && let Err(e) = shared.log.append_all_async(&events).await
    {
        tracing::error!("cannot record counted ingestion rejections: {e}");
    }
}

/// Verifies the chain once at start, so doctor and status have a result.
/// A stop does not wait for its answer, but the blocking verification it
/// started runs to its end before the process exits.
pub async fn first_verify(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    tokio::select! {
        done = crate::control::verify_now(&shared, false, None, None) => {
            if let Err(e) = done {
                tracing::warn!("start-up verification failed to run: {e}");
            }
        }
        _ = shutdown.changed() => {}
    }
}

/// Pings the systemd watchdog while the store is healthy, and stops the
/// daemon (exit status 1) if the log writer has failed, so systemd restarts
/// it and recovery replays everything acknowledged.
pub async fn health(shared: Arc<Shared>, fatal: watch::Sender<Option<String>>) {
    let mut shutdown = shared.shutdown.clone();
    let period = systemd::watchdog_interval().map_or(Duration::from_secs(1), |w| {
        (w / 2).min(Duration::from_secs(1))
    });
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match shared.log.failure() {
            None => systemd::watchdog(),
            Some(reason) => {
                tracing::error!(
                    "the event log failed ({reason}); stopping so the service restarts and recovers"
                );
                let _ = fatal.send(Some(reason));
                return;
            }
        }
    }
}
