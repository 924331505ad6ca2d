//! Taking the daemon down: every task it spawned, stopped in order, then
//! the store closed after it has persisted everything.

use super::start::lifecycle;
use super::tasks;
use crate::state::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use vigil_store::Phase;

/// How long one stage of tasks may take to finish once told to stop.
const STAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// When a task stops, relative to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Ways in (control socket, ingestion, spool): stop accepting first and
    /// let what is in flight finish, so nothing is accepted after the log
    /// stops taking it.
    Doors,
    /// The notifier: saves its groups once nothing new can arrive.
    Notifier,
    /// Background upkeep (epochs, snapshots, flushes, the watchdog, reload).
    Upkeep,
}

/// Every task the daemon spawned. Each watches the shutdown signal; at stop
/// they are awaited stage by stage, and one that does not finish in time
/// is aborted and named in the log.
#[derive(Default)]
pub struct Tasks {
    stages: [JoinSet<&'static str>; 3],
}

impl Tasks {
    /// Spawns `task`, known in the log as `name`, stopping at `stage`.
    pub fn spawn(
        &mut self,
        stage: Stage,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.stages[stage as usize].spawn(async move {
            task.await;
            name
        });
    }

    /// Awaits every task, stage by stage (the shutdown signal must have
    /// been sent).
    pub async fn stop(mut self) {
        for set in &mut self.stages {
            let finished = tokio::time::timeout(STAGE_TIMEOUT, async {
                while let Some(done) = set.join_next().await {
                    if let Err(e) = done
                        && e.is_panic()
                    {
                        tracing::error!("a task panicked: {e}");
                    }
                }
            })
            .await;
            if finished.is_err() {
                tracing::warn!(
                    "{} tasks did not stop within {}s; aborting them",
                    set.len(),
                    STAGE_TIMEOUT.as_secs()
                );
                set.abort_all();
                while set.join_next().await.is_some() {}
            }
        }
    }
}

/// Records the stop, snapshots the views, closes the log.
pub async fn close_store(shared: &Arc<Shared>) {
    tasks::flush_rejections(shared).await;
    if let Err(e) = shared.auditor.flush(true).await {
        tracing::error!("cannot record counted denials: {e}");
    }
    if let Err(e) = shared
        .log
        .append_async(&lifecycle(Phase::Stopping, "signal".into()))
        .await
    {
        tracing::error!("cannot record the stop: {e}");
    }
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || {
        s.with_views(|v| crate::state::replay::snapshot(v, &s.log))
    })
    .await
    {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e)) | Err(e)) => tracing::warn!("final view snapshot failed: {e}"),
        Err(e) => tracing::warn!("final view snapshot failed: {e}"),
    }
    let head = shared.log.head();
    tasks::anchor(&head, "stop");
    let log = shared.log.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || log.sync()).await {
        tracing::error!("final sync failed: {e}");
    }
    tracing::info!(seq = head.seq, "stopped cleanly");
}
